"""Prompt Workbench. Importing the package discovers the provider adapters first, so the
settings and catalog tables derived from their descriptors are complete before any use."""

from workbench.providers import registry as _registry  # noqa: F401  (fills the tables)
