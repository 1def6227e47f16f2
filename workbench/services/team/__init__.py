"""What lets people share one history: who is rating (identity), copying between databases
(dbcopy) and between image stores (image_copy), and the status of the data folder and the
image store.
"""
