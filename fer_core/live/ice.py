"""The WebRTC ICE configuration (STUN and TURN servers) from the environment or Streamlit
secrets, for both the browser and the server (streamlit-webrtc hands one dict to each).

    rtc_configuration(os.environ, secrets)   # {"iceServers": [...], maybe "iceTransportPolicy"}

TURN credentials come in two kinds:

* static: FER_TURN_USERNAME and FER_TURN_CREDENTIAL, one password that every browser receives;
* time-limited (preferred): FER_TURN_SECRET, the shared secret of coturn's `use-auth-secret`
  (`static-auth-secret=`). Each session gets its own credentials that expire after
  FER_TURN_TTL seconds (default 3600): username `<expiry unix time>:<session id>`, password
  base64(HMAC-SHA1(secret, username)), the "TURN REST API" scheme coturn and hosted TURN services
  verify. The secret itself never leaves the server.

FER_ICE_POLICY=relay makes browsers use the TURN relay only (locked-down networks). aiortc, on
the server, cannot be restricted the same way and ignores the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random_tokens
import time
from collections.abc import Mapping
from typing import Any

from fer_core.env_settings import whole_number
from fer_core.errors import ConfigError

DEFAULT_STUN_URLS: tuple[str, ...] = ("stun:stun.l.google.com:19302",)
STUN_ENV, TURN_URL_ENV, TURN_USER_ENV, TURN_CREDENTIAL_ENV = (
    "FER_STUN_URLS", "FER_TURN_URL", "FER_TURN_USERNAME", "FER_TURN_CREDENTIAL")
TURN_SECRET_ENV, TURN_TTL_ENV, ICE_POLICY_ENV = "FER_TURN_SECRET", "FER_TURN_TTL", "FER_ICE_POLICY"
DEFAULT_TURN_TTL_S = 3600
ICE_POLICIES = ("all", "relay")


class IceConfigError(ConfigError):
    """The STUN/TURN settings are inconsistent; the message says which setting to fix."""


def _split_urls(value: str) -> list[str]:
    return [u.strip() for u in value.replace(";", ",").split(",") if u.strip()]


def _lookup(key: str, env: Mapping[str, str], secrets: Mapping[str, Any]) -> str | None:
    """Environment first (deployment platforms set it), then Streamlit secrets."""
    value = env.get(key)
    if value is None:
        value = secrets.get(key)
    return None if value is None else str(value).strip()


def turn_rest_credentials(secret: str, user: str, expires_at: int) -> tuple[str, str]:
    """(username, password) of the TURN REST API scheme that coturn's use-auth-secret checks."""
    if ":" in user:
        raise IceConfigError("the user part of a TURN REST username must not contain ':'")
    username = f"{int(expires_at)}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def turn_ttl(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> int:
    """FER_TURN_TTL in seconds (60 s to 7 days), default one hour."""
    return whole_number(TURN_TTL_ENV, _lookup(TURN_TTL_ENV, env, secrets or {}), default=DEFAULT_TURN_TTL_S,
                        minimum=60, maximum=7 * 24 * 3600, expected="a whole number of seconds between 60 s and 7 days",
                        error=IceConfigError)


def ice_servers(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None, *,
                now: float | None = None, session_id: str | None = None) -> list[dict[str, Any]]:
    """The ICE server list for both browser and server.

    FER_STUN_URLS: comma-separated stun: URLs; unset means Google's public STUN server, "none"
    (or empty) means no STUN (a LAN, or tests without network). FER_TURN_URL (comma-separated
    turn:/turns: URLs) adds a TURN relay, which viewers behind symmetric NAT or strict firewalls
    need, with FER_TURN_SECRET (time-limited credentials minted here for `session_id`, valid from
    `now` for FER_TURN_TTL seconds) or FER_TURN_USERNAME + FER_TURN_CREDENTIAL (static). Each key
    may come from the environment or from `st.secrets` (passed in as `secrets`)."""
    secrets = secrets or {}
    servers: list[dict[str, Any]] = []
    stun = _lookup(STUN_ENV, env, secrets)
    stun_urls = list(DEFAULT_STUN_URLS) if stun is None else (
        [] if stun.lower() == "none" else _split_urls(stun))
    bad = [u for u in stun_urls if not u.startswith(("stun:", "stuns:"))]
    if bad:
        raise IceConfigError(f"{STUN_ENV} must hold stun: URLs (or 'none'), got {', '.join(bad)}")
    if stun_urls:
        servers.append({"urls": stun_urls})

    turn = _lookup(TURN_URL_ENV, env, secrets)
    username = _lookup(TURN_USER_ENV, env, secrets)
    credential = _lookup(TURN_CREDENTIAL_ENV, env, secrets)
    shared_secret = _lookup(TURN_SECRET_ENV, env, secrets)
    turn_urls = _split_urls(turn or "")
    if not turn_urls:
        if username or credential or shared_secret:
            raise IceConfigError(f"TURN credentials are set but {TURN_URL_ENV} is not")
        return servers
    bad = [u for u in turn_urls if not u.startswith(("turn:", "turns:"))]
    if bad:
        raise IceConfigError(f"{TURN_URL_ENV} must hold turn: or turns: URLs, got {', '.join(bad)}")
    if shared_secret:
        if username or credential:
            raise IceConfigError(f"set either {TURN_SECRET_ENV} (time-limited credentials) or "
                                 f"{TURN_USER_ENV} + {TURN_CREDENTIAL_ENV} (static), not both")
        expires_at = int((time.time() if now is None else now) + turn_ttl(env, secrets))
        username, credential = turn_rest_credentials(shared_secret, session_id or random_tokens.token_hex(8),
                                                     expires_at)
    elif not username or not credential:
        raise IceConfigError(f"{TURN_URL_ENV} is set, so {TURN_SECRET_ENV} (or {TURN_USER_ENV} and "
                             f"{TURN_CREDENTIAL_ENV}) is needed too: browsers refuse TURN servers "
                             "without credentials")
    servers.append({"urls": turn_urls, "username": username, "credential": credential})
    return servers


def ice_policy(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> str:
    policy = (_lookup(ICE_POLICY_ENV, env, secrets or {}) or "all").lower()
    if policy not in ICE_POLICIES:
        raise IceConfigError(f"{ICE_POLICY_ENV} must be one of {', '.join(ICE_POLICIES)}, got {policy!r}")
    return policy


def fallback_configuration(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """What the app may use when the ICE settings are invalid: public STUN, unless the operator
    asked for relay-only (FER_ICE_POLICY=relay, or any value that is not plainly "all"): then
    None, since quietly leaving the relay would expose viewers' addresses the operator meant to
    hide."""
    asked = (_lookup(ICE_POLICY_ENV, env, secrets or {}) or "all").lower()
    if asked != "all":
        return None
    return {"iceServers": [{"urls": list(DEFAULT_STUN_URLS)}]}


def rtc_configuration(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None, *,
                      now: float | None = None, session_id: str | None = None) -> dict[str, Any]:
    """{"iceServers": [...]} for `webrtc_streamer(rtc_configuration=...)`, plus
    "iceTransportPolicy": "relay" when FER_ICE_POLICY=relay. Always explicit, even when empty:
    left unset, streamlit-webrtc would go looking for TURN credentials online."""
    servers = ice_servers(env, secrets, now=now, session_id=session_id)
    config: dict[str, Any] = {"iceServers": servers}
    if ice_policy(env, secrets) == "relay":
        if not any("username" in s for s in servers):
            raise IceConfigError(f"{ICE_POLICY_ENV}=relay needs a TURN server ({TURN_URL_ENV} and its credentials)")
        config["iceTransportPolicy"] = "relay"
    return config

