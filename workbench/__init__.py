"""Prompt Workbench: build, run, log and judge prompts for hosted text-to-image models.

The layers and packages are described in `docs/architecture.md`. The settings and catalog tables
derived from the provider adapters' descriptors complete themselves on first read by importing
the provider registry, which discovers every adapter (docs/extending.md, `workbench.tables`): a
command that reads none of them does not pay for importing the adapters.
"""

from workbench.tables import ProviderTable


def _discover_providers() -> None:
    from workbench.providers import registry  # noqa: F401  (importing it fills the tables)


ProviderTable.completer = _discover_providers
