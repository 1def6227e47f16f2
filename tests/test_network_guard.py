"""The guard itself: a test that reaches past loopback must fail."""

import socket

import pytest

from tests.conftest import NetworkGuardError


def test_non_loopback_connect_is_refused() -> None:
    with socket.socket() as s, pytest.raises(NetworkGuardError):
        s.connect(("203.0.113.7", 443))


def test_public_host_name_is_refused_before_dns() -> None:
    with pytest.raises(NetworkGuardError):
        socket.getaddrinfo("generativelanguage.googleapis.com", 443)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
