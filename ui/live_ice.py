"""The Live page's WebRTC network settings, per browser session (Streamlit glue around
fer_core.live.ice, which builds them from the environment and secrets), and what the page says
while a connection is being set up.

A configured TURN relay that never answers fails silently everywhere else: the browser drops the
relay from its candidates, aiortc gives up on it after its own 5 s gathering limit, and the
visitor is left at "Connecting…". So while a visitor waits, the page asks each configured relay
one STUN Binding request (every TURN server answers them, RFC 8656 section 2), bounded by
`TURN_PROBE_TIMEOUT_S` in all and remembered for `TURN_PROBE_TTL_S` per server process, and
names the relay that stayed silent."""

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

import streamlit as st
from streamlit import config

from fer_core.live.ice import IceConfigError, fallback_configuration, rtc_configuration, turn_ttl

ICE_KEY = "live_ice"  # (renew after, configuration): this session's TURN credentials
TURN_PROBE_TIMEOUT_S = 2.0  # the whole check, every relay at once: a visitor waits this long at most
TURN_PROBE_TTL_S = 60  # one check per relay list per minute per server process, not one per rerun
TURN_DEFAULT_PORTS = {"turn": 3478, "turns": 5349}
_STUN_MAGIC = 0x2112A442
_UDP_RETRANSMIT_S = 0.5  # a lost datagram is sent again, as STUN clients do


def read_secrets(source: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], str | None]:
    """Top-level keys of .streamlit/secrets.toml (`source`: st.secrets), and why they could not
    be read, if so. No file is the usual case (no keys, no problem); a malformed file must not
    take the page down: the environment's settings still apply."""
    try:
        items = (st.secrets if source is None else source).items()
        return {k: v for k, v in items if not isinstance(v, Mapping)}, None
    except Exception as exc:
        # Streamlit raises StreamlitSecretNotFoundError (a FileNotFoundError) both for no file and
        # for a file it cannot parse: only the first is the usual, silent case
        if isinstance(exc, FileNotFoundError) and not any(os.path.exists(f) for f in config.get_option("secrets.files")):
            return {}, None
        return {}, f"Could not read Streamlit secrets ({exc}); using environment variables only."


def ice_configuration() -> dict[str, Any]:
    """Built once per browser session (time-limited TURN credentials are minted per session) and
    renewed at half their lifetime, so a new connection never starts with expiring ones."""
    cached = st.session_state.get(ICE_KEY)
    if cached and time.time() < cached[0]:
        return cached[1]
    secrets, problem = read_secrets()
    if problem:
        st.warning(problem)
    try:
        config = rtc_configuration(os.environ, secrets)
        st.session_state[ICE_KEY] = (time.time() + turn_ttl(os.environ, secrets) / 2, config)
        return config
    except IceConfigError as exc:
        fallback = fallback_configuration(os.environ, secrets)
        if fallback is None:  # relay-only was asked for: never fall back to direct connections
            st.error(f"The webcam is off: the WebRTC relay settings are invalid ({exc}) and this server "
                     "allows relayed connections only. The operator must fix the TURN settings.")
            st.stop()
        st.warning(f"WebRTC network settings ignored: {exc}. Falling back to public STUN only, "
                   "which fails behind strict NATs.")
        return fallback


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


@st.cache_data(ttl=TURN_PROBE_TTL_S, show_spinner=False)
def _silent_turn_servers_cached(urls: tuple[str, ...]) -> list[str]:
    return silent_turn_servers(urls, TURN_PROBE_TIMEOUT_S)


def connecting_notice(config: Mapping[str, Any]) -> None:
    """What the page says while the browser and the server set up the connection: with no
    relay configured, that one may be needed; with one that does not answer, which one, so the
    operator can fix it instead of visitors waiting at "Connecting…"."""
    urls = turn_urls(config)
    if not urls:
        st.info("Connecting… If the video never starts, the network between your browser and this "
                "server blocks direct WebRTC connections; the server needs a TURN relay "
                "(FER_TURN_URL, FER_TURN_USERNAME, FER_TURN_CREDENTIAL).")
        return
    silent = _silent_turn_servers_cached(tuple(urls))
    if silent:
        st.warning(f"Connecting… The TURN relay this server is set up with ({', '.join(silent)}) did not answer "
                   f"within {TURN_PROBE_TIMEOUT_S:g} s, so browsers on networks that block direct WebRTC "
                   "connections cannot connect. The operator must check that the relay is running and "
                   "reachable from this server (FER_TURN_URL).")
    else:
        st.info("Connecting… If the video never starts, your network blocks WebRTC even through this "
                "server's TURN relay: try another network.")
