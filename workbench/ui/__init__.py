"""Streamlit pages and their shared widgets. Pages are thin: widgets in, one service call,
results out. No SQL and no HTTP here."""
