"""Prompt Workbench: build, run, log and judge prompts for hosted text-to-image models.

The layers and packages are described in `docs/architecture.md`; the providers, models and
offers are data in `workbench/domain/data/catalog.toml` (docs/extending.md).
"""
