"""Which URLs may carry a provider's key.

Status, result and cancel URLs come from the provider's answers, and after a crash from the
database, which anyone who can write to a shared team database can change. So a URL gets the
key only when it points where the workbench itself would send it: `https` on one of the
provider's documented API hosts (`api_hosts` in the provider's catalog entry; `*.` matches one
label, as BFL's regional clusters `api.eu2.bfl.ai` need), or the scheme, host and port of the
configured base URL (an override, e.g. a proxy or a local fake, counts as documented). Anything
else raises `ProviderError("untrusted")` before any request is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from workbench.providers.base import ProviderError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def host_matches(host: str, pattern: str) -> bool:
    """`api.bfl.ai` matches itself; `api.*.bfl.ai` matches `api.eu2.bfl.ai` (one label)."""
    want, have = pattern.lower().split("."), host.split(".")
    if len(want) != len(have):
        return False
    return all(w == h or (w == "*" and h and h.isascii()) for w, h in zip(want, have, strict=True))


@dataclass(frozen=True)
class KeyScope:
    """The places one provider's key may go."""

    label: str
    api_hosts: tuple[str, ...]
    base_url: str

    def allows(self, url: str) -> bool:
        origin = _origin(url)
        if origin is None:
            return False
        if origin == _origin(self.base_url):
            return True
        scheme, host, port = origin
        return (
            scheme == "https"
            and port == 443
            and any(host_matches(host, pattern) for pattern in self.api_hosts)
        )

    def check(self, url: str) -> None:
        if not self.allows(url):
            origin = _origin(url)
            shown = f"{origin[0]}://{origin[1]}:{origin[2]}" if origin else repr(url[:60])
            hosts = ", ".join(self.api_hosts) or "none"
            raise ProviderError(
                "untrusted",
                f"The job's URL points at {shown}, which is not {self.label}'s API "
                f"({hosts}, or the configured base URL {_base(self.base_url)}): no request "
                "was made with your key. A URL read back from the log may have been changed "
                f"by someone with access to it; the job may still have finished (and been "
                f"billed) at {self.label}.",
                billed="may_be_billed",
            )


def _base(url: str) -> str:
    origin = _origin(url)
    return f"{origin[0]}://{origin[1]}:{origin[2]}" if origin else "(unusable)"
