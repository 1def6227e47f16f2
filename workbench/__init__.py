"""Prompt Workbench: build, run, log and judge prompts for hosted text-to-image models.

The layers and packages are described in `docs/architecture.md`. Importing the package
discovers the provider adapters first (docs/extending.md), so the settings and catalog tables
derived from their descriptors are complete before any use.
"""

from workbench.providers import registry as _registry  # noqa: F401  (fills the tables)
