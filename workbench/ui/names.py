"""What people read instead of ids: a model's catalog name ("Nano Banana 2", not
`nano-banana-2`) and a provider's label ("Black Forest Labs", not `bfl`). An id the catalog
does not know (a retired model still in the log) is shown as it is."""

from __future__ import annotations

from collections.abc import Callable

from workbench.domain.catalog import OFFLINE, PROVIDER_LABELS, CatalogError
from workbench.domain.suites import CATEGORIES
from workbench.services.workbench import Workbench


def model_name(wb: Workbench, model: str) -> str:
    try:
        return wb.catalog.model(model).name
    except CatalogError:
        return model


def provider_name(provider: str) -> str:
    return str(PROVIDER_LABELS.get(provider, provider))


def made_by(wb: Workbench, model: str, provider: str) -> str:
    """"Nano Banana 2 via Google Gemini API"; a sketch says it is one, not which model drew it."""
    if provider == OFFLINE:
        return f"{model_name(wb, model)} (offline sketch, no model)"
    return f"{model_name(wb, model)} via {provider_name(provider)}"


def model_label(wb: Workbench) -> Callable[[str], str]:
    """A `format_func` for a widget listing model ids."""
    return lambda model: model_name(wb, model)


def category_label(category: str) -> str:
    known = CATEGORIES.get(category)
    return known.label if known else category
