"""Does a configured TURN relay answer? One STUN Binding request per relay, bounded in time.

A configured TURN relay that never answers fails silently everywhere else: the browser drops the
relay from its candidates, aiortc gives up on it after its own 5 s gathering limit, and the
visitor is left at "Connecting…". Every TURN server answers STUN Binding requests (RFC 8656
section 2), so one request per relay tells whether it is up; `silent_turn_servers` checks all of
them at once and returns within its timeout even when a name lookup hangs. The Live page
(ui.live_ice) names the silent ones while a visitor waits. Standard library only.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

TURN_PROBE_TIMEOUT_S = 2.0  # the whole check, every relay at once: a visitor waits this long at most
TURN_DEFAULT_PORTS = {"turn": 3478, "turns": 5349}
_STUN_MAGIC = 0x2112A442
_UDP_RETRANSMIT_S = 0.5  # a lost datagram is sent again, as STUN clients do


@dataclass(frozen=True)
class TurnEndpoint:
    """Where one turn:/turns: URL points: host, port, and how to reach it."""

    url: str
    host: str
    port: int
    transport: str  # "udp" or "tcp"
    tls: bool


def parse_turn_url(url: str) -> TurnEndpoint:
    """turn:host[:port][?transport=udp|tcp] or turns:host[:port] (TLS over TCP); ValueError
    when it is not one."""
    scheme, _, rest = url.strip().partition(":")
    scheme = scheme.lower()
    if scheme not in TURN_DEFAULT_PORTS or not rest:
        raise ValueError(f"not a turn: or turns: URL: {url!r}")
    address, _, query = rest.partition("?")
    if address.startswith("["):  # [IPv6]:port
        host, _, port_text = address[1:].partition("]")
        port_text = port_text.removeprefix(":")
    else:
        host, _, port_text = address.partition(":")
    if not host:
        raise ValueError(f"no host in {url!r}")
    port = int(port_text) if port_text else TURN_DEFAULT_PORTS[scheme]
    transport = parse_qs(query).get("transport", ["tcp" if scheme == "turns" else "udp"])[0].lower()
    if transport not in ("udp", "tcp"):
        raise ValueError(f"unknown transport in {url!r}")
    return TurnEndpoint(url, host, port, "tcp" if scheme == "turns" else transport, scheme == "turns")


def turn_urls(config: Mapping[str, Any]) -> list[str]:
    """The TURN URLs of an RTC configuration (fer_core.live.ice.rtc_configuration's dict)."""
    urls: list[str] = []
    for server in config.get("iceServers", []):
        listed = server.get("urls", [])
        for url in [listed] if isinstance(listed, str) else listed:
            if str(url).lower().startswith(("turn:", "turns:")):
                urls.append(str(url))
    return urls


def _binding_request() -> tuple[bytes, bytes]:
    transaction = os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, _STUN_MAGIC) + transaction, transaction


def _is_reply(data: bytes, transaction: bytes) -> bool:
    """A STUN success or error response to our request (an error still proves the relay is up)."""
    return (len(data) >= 20 and data[0] & 0xC0 == 0 and struct.unpack("!I", data[4:8])[0] == _STUN_MAGIC
            and data[8:20] == transaction and bool(data[0] & 0x01))  # class bit C1: a response


def _exchange(stream: socket.socket, request: bytes, deadline: float) -> bytes:
    """Send `request` on a stream socket and read a STUN header back (b"" if it closes first)."""
    stream.sendall(request)
    reply = b""
    while len(reply) < 20:
        stream.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = stream.recv(20 - len(reply))
        if not chunk:
            return b""
        reply += chunk
    return reply


def turn_answers(endpoint: TurnEndpoint, timeout: float = TURN_PROBE_TIMEOUT_S) -> bool:
    """Whether the relay answers a STUN Binding request within `timeout` seconds (name lookup
    aside: silent_turn_servers bounds that too)."""
    request, transaction = _binding_request()
    deadline = time.monotonic() + timeout
    try:
        if endpoint.transport == "udp":
            family, _, _, _, address = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                while (left := deadline - time.monotonic()) > 0:
                    sock.sendto(request, address)
                    sock.settimeout(min(_UDP_RETRANSMIT_S, left))
                    try:
                        if _is_reply(sock.recvfrom(2048)[0], transaction):
                            return True
                    except TimeoutError:
                        continue
                return False
        with socket.create_connection((endpoint.host, endpoint.port),
                                      timeout=max(0.01, deadline - time.monotonic())) as raw:
            if not endpoint.tls:
                return _is_reply(_exchange(raw, request, deadline), transaction)
            # only whether it answers: a self-signed relay certificate is fine here
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with context.wrap_socket(raw, server_hostname=endpoint.host) as tls:
                return _is_reply(_exchange(tls, request, deadline), transaction)
    except (OSError, ValueError, IndexError):  # refused, timed out, unknown host, TLS failure
        return False


def silent_turn_servers(urls: Sequence[str], timeout: float = TURN_PROBE_TIMEOUT_S) -> list[str]:
    """The URLs whose relay did not answer within `timeout` seconds, checked all at once; the
    call returns after `timeout` (and a little) at most, even when a name lookup hangs."""
    answered: dict[str, bool] = {}

    def check(url: str) -> None:
        try:
            answered[url] = turn_answers(parse_turn_url(url), timeout)
        except ValueError:
            answered[url] = False

    threads = [threading.Thread(target=check, args=(url,), daemon=True, name="fer-turn-probe") for url in urls]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 0.5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [url for url in urls if not answered.get(url, False)]


__all__ = ["TURN_PROBE_TIMEOUT_S", "TurnEndpoint", "parse_turn_url", "silent_turn_servers", "turn_answers", "turn_urls"]
