"""Who is working, and whether this request may come in at all.

`who(settings, headers, chosen)` decides, with no Streamlit in sight so it can be tested
directly:

- Behind an authenticating reverse proxy (`Settings.trusted_user_header`, e.g.
  `X-Forwarded-Email`), the name is that request header's value, matched case-insensitively,
  and cannot be changed; a request without it, with it twice (or two values folded into one
  with a comma), or with a value that is no usable name gets a `Refusal`, never a guessed name.
- Otherwise the name the person chose this session (validated by `validate_name`), else
  `Settings.user` (`WORKBENCH_USER`, else the OS user). In team mode (a shared database) an
  `Identity.warning` says that anyone who can reach the port can spend the team's keys and read
  its history.

The name is what every generation, rating and vote made in the app records;
`rename_rater` gives the ratings and votes recorded under one name (`me`, from before names
were recorded) to another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from workbench.config import Settings
from workbench.errors import InvalidInput
from workbench.store.attribution import Renamed

if TYPE_CHECKING:
    from workbench.services.workbench import Workbench

MAX_NAME = 64
TEAM_WARNING = (
    "Team mode without an authenticating proxy: anyone who can reach this port can spend the "
    "team's API keys and read its whole history, under any name they type. Put the app behind a "
    "proxy that signs people in and set WORKBENCH_TRUSTED_USER_HEADER (see the README, "
    "\u201cWho did it / behind a proxy\u201d)."
)


class InvalidName(InvalidInput):
    """A user name that cannot be recorded; the message says why."""


def validate_name(raw: str | None) -> str:
    """The name trimmed; 1–64 printable characters (letters, digits, spaces, punctuation; no
    control characters such as a newline or a tab)."""
    name = (raw or "").strip()
    if not name:
        raise InvalidName("A name cannot be blank.")
    if len(name) > MAX_NAME:
        raise InvalidName(f"A name is at most {MAX_NAME} characters (this one has {len(name)}).")
    if not name.isprintable():
        raise InvalidName("A name cannot contain control characters (a tab, a line break …).")
    return name


@dataclass(frozen=True)
class Identity:
    name: str
    source: Literal["header", "chosen", "settings"]
    header: str | None = None  # the trusted header the name came from
    warning: str | None = None  # shown on every page (team mode without a proxy)

    @property
    def locked(self) -> bool:
        """From the proxy: the sidebar shows it and offers no way to change it."""
        return self.source == "header"


@dataclass(frozen=True)
class Refusal:
    """This request may not come in; the page shows `title` and `message` and nothing else."""

    title: str
    message: str


def header_values(headers: Mapping[str, str], wanted: str) -> list[str]:
    """Every value `headers` carry for `wanted`, any letter case. Streamlit's request headers
    keep each repeated line (`get_all`, as Starlette's `getlist`); a plain mapping cannot repeat
    a name but may spell it twice in different cases."""
    get_all = getattr(headers, "get_all", None)
    if callable(get_all):
        return [str(v) for v in get_all(wanted)]
    wanted = wanted.lower()
    return [value for name, value in headers.items() if name.lower() == wanted]


def several_values(values: list[str]) -> bool:
    """The header came twice, or with two values joined by a comma."""
    return len(values) > 1 or any("," in value for value in values)


def signed_in(header: str, values: list[str]) -> Identity | Refusal:
    """The one name the proxy's header gives (`values`: each line of it the request carried),
    or why this request may not come in. Used for the pages (`who`) and for plain HTTP requests
    (`ui/guard.py`)."""
    if not values:
        return Refusal(
            "Sign-in required",
            f"This workbench takes the user's name from the {header} header, set by the "
            "signing-in proxy in front of it, and this request did not carry it. Open the "
            "workbench through that proxy's address; if you did, ask whoever runs it to "
            f"check that the proxy passes {header} on.",
        )
    # Twice, or two values joined by a comma (how HTTP folds repeated lines, RFC 9110 §5.3): a
    # proxy that adds its header to one the client sent, instead of replacing it, would let the
    # client's value through. Which one the proxy set cannot be told, so neither is taken.
    if several_values(values):
        return Refusal(
            "Sign-in required",
            f"This request carried the {header} header more than once (or several values in "
            "one), so who signed in cannot be told. Ask whoever runs the signing-in proxy to "
            f"remove {header} from incoming requests before it sets its own.",
        )
    try:
        return Identity(validate_name(values[0]), "header", header=header)
    except InvalidName as exc:
        return Refusal(
            "Sign-in required",
            f"The {header} header of this request is not a usable name: {exc} Ask whoever "
            "runs the proxy to check what it sends.",
        )


def who(settings: Settings, headers: Mapping[str, str], chosen: str | None) -> Identity | Refusal:
    """The identity of one request: see the module docstring for the rules."""
    header = settings.trusted_user_header
    if header:
        return signed_in(header, header_values(headers, header))
    warning = TEAM_WARNING if settings.team_mode else None
    if chosen is not None:
        try:
            return Identity(validate_name(chosen), "chosen", warning=warning)
        except InvalidName:
            pass  # the sidebar refused it already; the default below stands
    try:
        return Identity(validate_name(settings.user), "settings", warning=warning)
    except InvalidName as exc:
        return Refusal(
            "Who is working?",
            f"WORKBENCH_USER cannot be used as a name: {exc} Set it to 1–{MAX_NAME} printable "
            "characters, or unset it to use the operating-system user, and restart.",
        )


def rename_rater(wb: Workbench, old: str, new: str) -> Renamed:
    """Give every rating and vote recorded under `old` to `new` (both validated as names)."""
    old, new = validate_name(old), validate_name(new)
    if old == new:
        raise InvalidName(f"'{old}' is already the name: nothing to rename.")
    return wb.attribution.rename_rater(old, new)
