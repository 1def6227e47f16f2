"""What carries a prompt or an image out of the workbench: the prompt library, exports, provenance
inside image files, recipes read back from images, and the HTML report.
"""
