"""Keeps keys and the team database password out of anything stored or shown: every error
message passes through `redact`."""

from __future__ import annotations

from workbench.config import Settings

MASK = "[redacted]"


def redact(text: str, settings: Settings) -> str:
    for provider in settings.keys:
        secret = settings.key(provider)
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    database = settings.database  # team mode: the database password is a secret too, also
    if database is not None:  # when given among the URL's options (`?password=...`)
        given = [value for name, value in database.options if "password" in name.lower()]
        for secret in (database.password, *given):
            if secret and len(secret) >= 4:
                text = text.replace(secret, MASK)
    return text
