"""Automatic image measurements on pixels (numpy and Pillow only): colour, detail, hashes, text."""
