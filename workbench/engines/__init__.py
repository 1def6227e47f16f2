"""Adapters for local third-party engines the workbench drives (OCR), loaded lazily."""
