"""The check of a configured TURN relay (fer_core.live.turn_probe; the Live page shows it through
ui.live_ice): a relay that never answers is found within a bounded time, one that answers is not
reported. Local sockets only, no network."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from fer_core.live.turn_probe import TurnEndpoint, parse_turn_url, silent_turn_servers, turn_answers, turn_urls

TIMEOUT = 0.3  # the check's bound in these tests; no assertion is made on elapsed time


def _reply(request: bytes) -> bytes:
    """A STUN Binding success response to `request` (no attributes)."""
    return struct.pack("!HH", 0x0101, 0) + request[4:20]


@pytest.fixture()
def silent_udp() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture()
def silent_tcp() -> Iterator[int]:
    """Accepts connections (the kernel's backlog does) and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield sock.getsockname()[1]


@pytest.fixture()
def answering_udp() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.05)
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                continue
            sock.sendto(_reply(data), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


@pytest.fixture()
def answering_tcp() -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                request = b""
                while len(request) < 20:
                    request += conn.recv(20 - len(request))
                conn.sendall(_reply(request))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_turn_urls_are_read_with_their_transport_and_default_ports():
    assert parse_turn_url("turn:relay.example") == TurnEndpoint("turn:relay.example", "relay.example", 3478, "udp", False)
    assert parse_turn_url("turn:10.0.0.1:3479?transport=tcp").transport == "tcp"
    assert parse_turn_url("turns:relay.example").port == 5349 and parse_turn_url("turns:relay.example").tls
    assert parse_turn_url("turn:[::1]:3478").host == "::1"
    for bad in ("stun:relay.example", "turn:", "turn:relay.example:3478?transport=sctp"):
        with pytest.raises(ValueError):
            parse_turn_url(bad)
    config = {"iceServers": [{"urls": ["stun:s.example"]},
                             {"urls": ["turn:a.example", "turns:b.example"], "username": "u", "credential": "c"}]}
    assert turn_urls(config) == ["turn:a.example", "turns:b.example"]
    assert turn_urls({"iceServers": []}) == []


def test_a_relay_that_never_answers_is_reported_over_udp_and_tcp(silent_udp, silent_tcp):
    udp, tcp = f"turn:127.0.0.1:{silent_udp}", f"turn:127.0.0.1:{silent_tcp}?transport=tcp"
    assert not turn_answers(parse_turn_url(udp), TIMEOUT)
    assert not turn_answers(parse_turn_url(tcp), TIMEOUT)
    assert silent_turn_servers([udp, tcp], TIMEOUT) == [udp, tcp]


def test_a_relay_that_answers_is_not_reported(answering_udp, answering_tcp, silent_udp):
    udp, tcp = f"turn:127.0.0.1:{answering_udp}", f"turn:127.0.0.1:{answering_tcp}?transport=tcp"
    assert turn_answers(parse_turn_url(udp), 2.0) and turn_answers(parse_turn_url(tcp), 2.0)
    silent = f"turn:127.0.0.1:{silent_udp}"
    assert silent_turn_servers([udp, silent, tcp], 2.0) == [silent]  # only the silent one


def test_a_refused_port_or_a_malformed_url_counts_as_silent_without_an_exception():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    refused = f"turn:127.0.0.1:{closed}?transport=tcp"
    assert not turn_answers(parse_turn_url(refused), TIMEOUT)
    assert silent_turn_servers([refused, "not a url"], TIMEOUT) == [refused, "not a url"]
