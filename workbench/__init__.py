"""Prompt Workbench: build, run, log and judge prompts for hosted text-to-image models.

The layers and packages are described in `docs/architecture.md`.
"""
