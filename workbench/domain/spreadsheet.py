"""Text cells that a spreadsheet will not run as formulas (CSV injection).

A CSV cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula, so a prompt such as `=HYPERLINK("http://…")` would
run on the machine of whoever opens an export. OWASP's recommendation
(https://owasp.org/www-community/attacks/CSV_Injection) is to prefix such a cell with a single
quote, which the spreadsheet shows as text. Only text cells are touched: numbers (a negative
score) stay numbers. The prefix is reversible: a cell that already begins with a quote followed
by one of those characters gains a second quote, and `restore` removes exactly one, so importing
an export gives back what was exported. Parquet keeps the raw text."""

from __future__ import annotations

from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"


def _needs_prefix(text: str) -> bool:
    return text.startswith(TRIGGERS) or (
        text.startswith(PREFIX) and text[len(PREFIX) :].lstrip(PREFIX).startswith(TRIGGERS)
    )


def neutralise(value: Any) -> Any:
    """A CSV-safe version of one cell; anything that is not text is returned as it is."""
    if isinstance(value, str) and _needs_prefix(value):
        return PREFIX + value
    return value


def restore(text: str) -> str:
    """The text `neutralise` was given, from what it returned."""
    if text.startswith(PREFIX) and _needs_prefix(text[len(PREFIX) :]):
        return text[len(PREFIX) :]
    return text
