"""What lets people share one history: who is rating (identity), copying between databases, and the
status of the data folder.
"""
