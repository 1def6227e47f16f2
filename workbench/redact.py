"""Keeps keys and the team database password out of anything stored or shown, and terminal
control characters out of provider text that is printed: every error message passes through
`redact`.

A provider that echoes a key may cut it short ("key sk-CANARY-7Q9x... is not valid"), so any
run of 8 or more characters that starts a secret is masked, not only the whole secret.
"""

from __future__ import annotations

import re

from workbench.config import Settings

MASK = "[redacted]"
PREFIX = 8  # the shortest start of a secret that is masked on its own
# C0 controls (ESC starts terminal escape sequences), DEL and the C1 controls (0x9b is a
# one-byte CSI on some terminals). Tabs and newlines go too: messages are one line.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def mask_secret(text: str, secret: str) -> str:
    """`text` with the secret, and every run of at least `PREFIX` characters that matches the
    secret's start, replaced by MASK. Secrets under 4 characters are left alone (masking them
    would mangle ordinary text)."""
    if len(secret) < 4:
        return text
    if len(secret) <= PREFIX:
        return text.replace(secret, MASK)
    head = secret[:PREFIX]
    parts: list[str] = []
    start = 0
    while (found := text.find(head, start)) >= 0:
        end, matched = found + PREFIX, PREFIX
        while end < len(text) and matched < len(secret) and text[end] == secret[matched]:
            end += 1
            matched += 1
        parts += [text[start:found], MASK]
        start = end
    parts.append(text[start:])
    return "".join(parts)


def printable(text: str) -> str:
    """Provider text made safe to print: control characters become spaces."""
    return _CONTROLS.sub(" ", text)


def redact(text: str, settings: Settings) -> str:
    for provider in settings.keys:
        secret = settings.key(provider)
        if secret:
            text = mask_secret(text, secret)
    database = settings.database  # team mode: the database password is a secret too
    if database is not None and database.password:
        text = mask_secret(text, database.password)
    return printable(text)
