"""Keeps keys and the team database password out of anything stored or shown, and terminal
control characters out of provider text that is printed: every error message passes through
`redact`.

A provider that echoes a key may cut it short ("key sk-CANARY-7Q9x... is not valid"), so any
run of 8 or more characters that starts a secret is masked, not only the whole secret.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only the annotation: printing a line must not import pydantic
    from workbench.config import Settings

MASK = "[redacted]"
PREFIX = 8  # the shortest start of a secret that is masked on its own
# What a terminal would act on rather than show (ECMA-48): control sequences (CSI `ESC [` … a
# final byte; OSC `ESC ]` … BEL or ST, which can set the window title or write the clipboard;
# the 8-bit CSI and other two-character escapes), removed whole so no visible remnant such as
# `[2J` is left; then any other C0 or C1 control and the Unicode bidi overrides that reorder
# what is shown (Unicode UAX #9).
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -~]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


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
    """`text` as a terminal should show it: escape sequences and control characters removed,
    newlines and tabs kept. Provider messages and logged text (a team's shared log) reach the
    terminal only through this or `one_line`."""
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))


def one_line(text: str) -> str:
    """`printable`, on one line: every run of white space, newlines included, is one space."""
    return " ".join(printable(text).split())


def redact(text: str, settings: Settings) -> str:
    for provider in settings.keys:
        secret = settings.key(provider)
        if secret:
            text = mask_secret(text, secret)
    database = settings.database  # team mode: the database password is a secret too, also
    if database is not None:  # when given among the URL's options (`?password=...`)
        given = [value for name, value in database.options if "password" in name.lower()]
        for secret in (database.password, *given):
            if secret:
                text = mask_secret(text, secret)
    return one_line(text)
