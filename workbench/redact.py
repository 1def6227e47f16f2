"""Keeps keys out of anything stored or shown: every error message passes through `redact`."""

from __future__ import annotations

from workbench.config import Settings

MASK = "[redacted]"


def redact(text: str, settings: Settings) -> str:
    for provider in settings.keys:
        secret = settings.key(provider)
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text
