"""The Live page's WebRTC network settings, per browser session (Streamlit glue around
fer_core.live.ice, which builds them from the environment and secrets), and what the page says
while a connection is being set up: a configured TURN relay that does not answer
(fer_core.live.turn_probe, remembered for `TURN_PROBE_TTL_S` per server process) is named."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit import config

from fer_core.live.ice import IceConfigError, fallback_configuration, rtc_configuration, turn_ttl
from fer_core.live.turn_probe import TURN_PROBE_TIMEOUT_S, silent_turn_servers, turn_urls

ICE_KEY = "live_ice"  # (renew after, configuration): this session's TURN credentials
TURN_PROBE_TTL_S = 60  # one check per relay list per minute per server process, not one per rerun


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
