"""Settings: where data lives, which provider keys and base URLs are configured, who is working
(`WORKBENCH_USER`, else the OS user) and the shared daily spending caps.

Keys come from the environment first, then `.streamlit/secrets.toml` (git-ignored). They are held
as `SecretStr` so that a repr, a log line or a pydantic dump never shows them; code that needs the
raw value asks `Settings.key(provider)` at the moment it builds a request header.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from workbench.domain.catalog import ProviderView
from workbench.errors import ConfigError
from workbench.paths import DEFAULT_DATA_UMASK, PROJECT_ROOT, data_dir, data_umask

SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"

# Views of the catalog's `[[providers]]` entries (workbench/domain/data/catalog.toml): provider ->
# environment variables that may hold its key, in order of preference; its base-URL variable;
# its default base URL. Only hosted providers (those with a key) appear.
KEY_VARIABLES: ProviderView[tuple[str, ...]] = ProviderView(
    lambda spec: spec.key_variables or None
)
BASE_URL_VARIABLES: ProviderView[str] = ProviderView(
    lambda spec: spec.base_url_variable if spec.hosted and spec.default_base_url else None
)
DEFAULT_BASE_URLS: ProviderView[str] = ProviderView(
    lambda spec: spec.default_base_url if spec.hosted and spec.base_url_variable else None
)


URL_SHAPE = "postgresql://user[:password]@host[:port]/database"


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed `WORKBENCH_DATABASE_URL`. `redacted` (the URL without its password) is the only
    form ever shown; the password reaches the driver through `connect_kwargs` and nothing else.
    The repr leaves the password out as well."""

    user: str
    host: str
    port: int
    dbname: str
    password: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # ?sslmode=require&... passed to libpq as given

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted!r})"

    @property
    def where(self) -> str:
        """host:port, for messages."""
        return f"{self.host}:{self.port}"

    @property
    def redacted(self) -> str:
        secret = ":***" if self.password else ""
        query = "&".join(f"{k}={v}" for k, v in self.options if "password" not in k.lower())
        return f"postgresql://{self.user}{secret}@{self.where}/{self.dbname}" + (
            f"?{query}" if query else ""
        )

    def connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname,
        }
        if self.password:
            kwargs["password"] = self.password
        kwargs.update(dict(self.options))
        return kwargs


def parse_database_url(text: str) -> DatabaseUrl:
    """`postgresql://user[:password]@host[:port]/database[?libpq options]`; anything else is a
    `ConfigError` whose message never repeats the text (it may hold a password)."""

    def bad(why: str) -> ConfigError:
        return ConfigError(f"WORKBENCH_DATABASE_URL is not usable: {why}. Expected {URL_SHAPE}.")

    try:
        parts = urlsplit(text.strip())
        port = parts.port or 5432
    except ValueError:
        raise bad("its host or port cannot be read") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise bad("it must start with postgresql://")
    if not parts.hostname:
        raise bad("it names no host")
    if not parts.username:
        raise bad("it names no user")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise bad("it names no database (the part after the last /)")
    if parts.fragment:
        raise bad("it has a #fragment")
    options = tuple(parse_qsl(parts.query, keep_blank_values=True))
    return DatabaseUrl(
        user=unquote(parts.username), host=parts.hostname, port=port, dbname=dbname,
        password=unquote(parts.password) if parts.password else None, options=options,
    )


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    data_dir: Path
    keys: dict[str, SecretStr] = {}
    key_sources: dict[str, str] = {}  # provider -> "VARIABLE (origin)", never the value
    base_urls: dict[str, str] = {}
    lock_timeout_s: float = 10.0
    user: str = "me"  # who generates, rates and votes: WORKBENCH_USER, else the OS user
    daily_budget_usd: float | None = Field(default=None, ge=0)  # shared by everyone
    user_daily_budget_usd: float | None = Field(default=None, ge=0)  # per person
    # Team mode: WORKBENCH_DATABASE_URL (postgresql://user[:password]@host:port/db) keeps the
    # log in PostgreSQL; the password is a secret like a key and is never shown.
    database_url: SecretStr | None = None
    # Team mode: how long an outcome write waits for a server that went away before it is kept
    # in the data directory's journal instead (WORKBENCH_DB_RECONNECT_S).
    reconnect_s: float = Field(default=120.0, ge=0)
    # Behind an authenticating proxy: the request header that names the user (e.g.
    # X-Forwarded-Email); set, a request without it is refused and the name cannot be changed.
    trusted_user_header: str | None = None
    # The adherence judge: WORKBENCH_JUDGE_MODEL (None: the judge's default model) and
    # WORKBENCH_JUDGE_PRICES ("input,output" dollars per million tokens, for a model whose
    # price the workbench does not list); checked where the judge uses them.
    judge_model: str | None = None
    judge_prices: str | None = None
    # Who may read the data directory: the process umask OR this mask (WORKBENCH_DATA_UMASK,
    # octal, default 077: you alone); see workbench/paths.py.
    data_umask: int = Field(default=DEFAULT_DATA_UMASK, ge=0, le=0o777)

    @property
    def team_mode(self) -> bool:
        return self.database_url is not None

    @property
    def database(self) -> DatabaseUrl | None:
        """The team database, parsed (a malformed URL is refused when settings load)."""
        if self.database_url is None:
            return None
        return parse_database_url(self.database_url.get_secret_value())

    @property
    def db_path(self) -> Path:
        return self.data_dir / "workbench.duckdb"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    def key(self, provider: str) -> str | None:
        secret = self.keys.get(provider)
        return secret.get_secret_value() if secret else None

    def has_key(self, provider: str) -> bool:
        return bool(self.key(provider))

    def base_url(self, provider: str) -> str:
        return self.base_urls.get(provider) or DEFAULT_BASE_URLS[provider]


def _read_secrets_file(path: Path) -> Mapping[str, object]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        # A broken secrets file must not stop the app; the Status page shows no key instead.
        return {}


def _user(env: Mapping[str, str]) -> str:
    name = (env.get("WORKBENCH_USER") or "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "me"


def _secret(
    env: Mapping[str, str], secrets: Mapping[str, object], name: str
) -> SecretStr | None:
    value = env.get(name) or secrets.get(name)
    return SecretStr(value.strip()) if isinstance(value, str) and value.strip() else None


def _text(env: Mapping[str, str], secrets: Mapping[str, object], name: str) -> str | None:
    value = env.get(name) or secrets.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _money(env: Mapping[str, str], name: str) -> float | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw.removeprefix("$"))
    except ValueError:
        raise ConfigError(f"{name} must be an amount in US dollars, such as 5 or 12.50") from None
    if value < 0:
        raise ConfigError(f"{name} cannot be negative")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None


def load_settings(
    env: Mapping[str, str] | None = None, secrets_file: Path | None = None
) -> Settings:
    env = os.environ if env is None else env
    secrets = _read_secrets_file(secrets_file or SECRETS_FILE)
    keys: dict[str, SecretStr] = {}
    sources: dict[str, str] = {}
    for provider, names in KEY_VARIABLES.items():
        for name in names:
            for origin, table in (("environment", env), ("secrets.toml", secrets)):
                value = table.get(name)
                if isinstance(value, str) and value.strip() and provider not in keys:
                    keys[provider] = SecretStr(value.strip())
                    sources[provider] = f"{name} ({origin})"
    base_urls = {
        provider: str(env.get(var) or secrets.get(var) or "").rstrip("/")
        for provider, var in BASE_URL_VARIABLES.items()
        if env.get(var) or secrets.get(var)
    }
    lock_timeout = _seconds(env, "WORKBENCH_LOCK_TIMEOUT_S", 10.0)
    database_url = _secret(env, secrets, "WORKBENCH_DATABASE_URL")
    if database_url is not None:
        parse_database_url(database_url.get_secret_value())  # refuse a malformed one now
    try:
        mask = data_umask(env)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return Settings(
        judge_model=_text(env, secrets, "WORKBENCH_JUDGE_MODEL"),
        judge_prices=_text(env, secrets, "WORKBENCH_JUDGE_PRICES"),
        data_umask=mask,
        user=_user(env),
        daily_budget_usd=_money(env, "WORKBENCH_DAILY_BUDGET_USD"),
        user_daily_budget_usd=_money(env, "WORKBENCH_USER_DAILY_BUDGET_USD"),
        data_dir=data_dir(env),
        keys=keys,
        key_sources=sources,
        base_urls=base_urls,
        lock_timeout_s=lock_timeout,
        database_url=database_url,
        reconnect_s=_seconds(env, "WORKBENCH_DB_RECONNECT_S", 120.0),
        trusted_user_header=(env.get("WORKBENCH_TRUSTED_USER_HEADER") or "").strip() or None,
    )
