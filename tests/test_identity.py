"""Who is working, and who may come in: the pure decision (`services.identity.who`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from workbench.config import Settings, load_settings
from workbench.services.team.identity import (
    MAX_NAME,
    TEAM_WARNING,
    Identity,
    InvalidName,
    Refusal,
    validate_name,
    who,
)

HEADER = "X-Forwarded-Email"


def _settings(tmp_path: Path, **changes: object) -> Settings:
    base = Settings(data_dir=tmp_path, user="ops")
    return base.model_copy(update=changes)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("ann", "ann"), ("  ann lee  ", "ann lee"), ("a", "a"), ("x" * MAX_NAME, "x" * MAX_NAME),
     ("ann@example.com", "ann@example.com"), ("Zoë Ørsted", "Zoë Ørsted")],
)
def test_valid_names_are_trimmed(raw: str, expected: str) -> None:
    assert validate_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [("", "blank"), ("   ", "blank"), (None, "blank"), ("x" * (MAX_NAME + 1), "at most 64"),
     ("ann\nlee", "control characters"), ("ann\tlee", "control characters"),
     ("a\x00", "control characters")],
)
def test_bad_names_are_refused_with_the_reason(raw: str | None, message: str) -> None:
    with pytest.raises(InvalidName, match=message):
        validate_name(raw)


def test_default_is_the_settings_user(tmp_path: Path) -> None:
    assert who(_settings(tmp_path), {}, None) == Identity("ops", "settings")


def test_settings_user_comes_from_workbench_user(tmp_path: Path) -> None:
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path), "WORKBENCH_USER": " bo "},
                             secrets_file=tmp_path / "none.toml")
    identity = who(settings, {}, None)
    assert isinstance(identity, Identity) and identity.name == "bo"


def test_a_chosen_name_wins_and_a_bad_one_keeps_the_default(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert who(settings, {}, " cy ") == Identity("cy", "chosen")
    assert who(settings, {}, "\n") == Identity("ops", "settings")
    # without a trusted header, a header naming someone changes nothing
    assert who(settings, {HEADER: "eve@example.com"}, None) == Identity("ops", "settings")


def test_trusted_header_names_the_user_whatever_its_case(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trusted_user_header=HEADER)
    identity = who(settings, {"x-forwarded-email": " ann@example.com "}, "someone else")
    assert identity == Identity("ann@example.com", "header", header=HEADER)
    assert isinstance(identity, Identity) and identity.locked
    assert who(settings, {"X-FORWARDED-EMAIL": "ann@example.com"}, None) == identity


@pytest.mark.parametrize("headers", [{}, {"X-Forwarded-User": "ann"}, {HEADER: "  "},
                                     {HEADER: "x" * 65}, {HEADER: "ann\r\nX-Evil: 1"}])
def test_trusted_header_missing_or_unusable_is_refused(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    settings = _settings(tmp_path, trusted_user_header=HEADER)
    refusal = who(settings, headers, "ann")  # a name typed earlier does not get anyone in
    assert isinstance(refusal, Refusal)
    assert HEADER in refusal.message


def test_team_mode_without_a_proxy_warns(tmp_path: Path) -> None:
    team = _settings(tmp_path, database_url=SecretStr("postgresql://u:pw@db:5432/wb"))
    identity = who(team, {}, None)
    assert isinstance(identity, Identity) and identity.warning == TEAM_WARNING
    assert "anyone who can reach this port" in TEAM_WARNING
    chosen = who(team, {}, "cy")
    assert isinstance(chosen, Identity) and chosen.warning == TEAM_WARNING
    # behind the proxy, or on a local database, there is nothing to warn about
    behind = who(team.model_copy(update={"trusted_user_header": HEADER}), {HEADER: "a@b.c"}, None)
    assert isinstance(behind, Identity) and behind.warning is None
    local = who(_settings(tmp_path), {}, None)
    assert isinstance(local, Identity) and local.warning is None


def test_an_unusable_workbench_user_is_refused_with_what_to_do(tmp_path: Path) -> None:
    refusal = who(_settings(tmp_path, user="x" * 100), {}, None)
    assert isinstance(refusal, Refusal) and "WORKBENCH_USER" in refusal.message


def test_a_repeated_or_folded_trusted_header_is_refused(tmp_path: Path) -> None:
    """A proxy that appends its header to the one the client sent would let the client choose
    the name (Streamlit hands the first one to `headers[...]`): neither is taken."""
    from streamlit.runtime.context import StreamlitHeaders

    settings = _settings(tmp_path, trusted_user_header=HEADER)
    repeated = StreamlitHeaders([("X-Forwarded-Email", "mallory@x"), (HEADER.lower(), "ann@x")])
    refused = who(settings, repeated, None)
    assert isinstance(refused, Refusal) and "more than once" in refused.message
    folded = StreamlitHeaders([(HEADER, "mallory@x, ann@x")])  # RFC 9110 §5.3 folding
    assert isinstance(who(settings, folded, None), Refusal)
    two_cases = {"X-Forwarded-Email": "mallory@x", "x-forwarded-email": "ann@x"}
    assert isinstance(who(settings, two_cases, None), Refusal)
    once = StreamlitHeaders([(HEADER, "ann@x"), ("Accept", "a"), ("Accept", "b")])
    assert who(settings, once, None) == Identity("ann@x", "header", header=HEADER)
