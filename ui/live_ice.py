"""The Live page's WebRTC network settings, per browser session (Streamlit glue around
fer_core.live.ice, which builds them from the environment and secrets)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit import config

from fer_core.live.ice import IceConfigError, fallback_configuration, rtc_configuration, turn_ttl

ICE_KEY = "live_ice"  # (renew after, configuration): this session's TURN credentials


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
