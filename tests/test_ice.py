"""WebRTC ICE configuration: STUN, static and time-limited TURN credentials, relay-only policy."""

from __future__ import annotations

import json

import pytest

from fer_core.live.ice import (
    DEFAULT_TURN_TTL_S,
    IceConfigError,
    ice_servers,
    rtc_configuration,
    turn_rest_credentials,
    turn_ttl,
)

SECRET_ENV = {"FER_TURN_URL": "turn:relay.example:3478", "FER_TURN_SECRET": "north-wind", "FER_STUN_URLS": "none"}


def test_default_is_public_stun_only():
    assert rtc_configuration({}) == {"iceServers": [{"urls": ["stun:stun.l.google.com:19302"]}]}


def test_stun_can_be_replaced_or_disabled():
    assert ice_servers({"FER_STUN_URLS": "none"}) == []
    assert ice_servers({"FER_STUN_URLS": ""}) == []
    assert ice_servers({"FER_STUN_URLS": "stun:a.example:3478, stun:b.example"}) == [
        {"urls": ["stun:a.example:3478", "stun:b.example"]}]


def test_static_turn_from_environment_and_secrets():
    env = {"FER_TURN_URL": "turn:relay.example:3478?transport=udp,turns:relay.example:5349",
           "FER_TURN_USERNAME": "user", "FER_TURN_CREDENTIAL": "pw"}
    servers = ice_servers(env)
    assert servers[-1] == {"urls": ["turn:relay.example:3478?transport=udp", "turns:relay.example:5349"],
                           "username": "user", "credential": "pw"}
    secrets = {"FER_TURN_URL": "turn:s.example:3478", "FER_TURN_USERNAME": "u2", "FER_TURN_CREDENTIAL": "c2"}
    assert ice_servers({}, secrets)[-1]["urls"] == ["turn:s.example:3478"]
    # the environment wins over secrets, key by key
    mixed = ice_servers({"FER_TURN_CREDENTIAL": "from-env"}, secrets)[-1]
    assert mixed["credential"] == "from-env" and mixed["username"] == "u2"


def test_rest_credentials_match_coturns_formula():
    # expected value from: echo -n "1700003600:session1" | openssl dgst -sha1 -hmac north-wind -binary | base64
    assert turn_rest_credentials("north-wind", "session1", 1700003600) == (
        "1700003600:session1", "6Sj8PRlKEitbVGLCnt+Zr8RAVDc=")
    with pytest.raises(ValueError, match="':'"):
        turn_rest_credentials("s", "a:b", 1)


def test_a_shared_secret_mints_expiring_per_session_credentials_and_never_sends_the_secret():
    config = rtc_configuration(SECRET_ENV, now=1_700_000_000, session_id="session1")
    (turn,) = config["iceServers"]
    assert turn == {"urls": ["turn:relay.example:3478"], "username": "1700003600:session1",
                    "credential": "6Sj8PRlKEitbVGLCnt+Zr8RAVDc="}
    assert "north-wind" not in json.dumps(config)
    other = rtc_configuration(SECRET_ENV, now=1_700_000_000)  # a random session id each time
    again = rtc_configuration(SECRET_ENV, now=1_700_000_000)
    assert other["iceServers"][0]["username"] != again["iceServers"][0]["username"]
    assert other["iceServers"][0]["username"].startswith("1700003600:")


def test_the_credential_lifetime_is_configurable_within_bounds():
    assert turn_ttl({}) == DEFAULT_TURN_TTL_S
    short = rtc_configuration({**SECRET_ENV, "FER_TURN_TTL": "600"}, now=1000, session_id="s")
    assert short["iceServers"][0]["username"] == "1600:s"
    for bad in ("ten", "5", str(8 * 24 * 3600)):
        with pytest.raises(IceConfigError, match="FER_TURN_TTL"):
            rtc_configuration({**SECRET_ENV, "FER_TURN_TTL": bad})


def test_relay_only_policy_reaches_the_browser_configuration():
    config = rtc_configuration({**SECRET_ENV, "FER_ICE_POLICY": "relay"}, session_id="s")
    assert config["iceTransportPolicy"] == "relay"
    assert "iceTransportPolicy" not in rtc_configuration(SECRET_ENV)
    with pytest.raises(IceConfigError, match="needs a TURN server"):
        rtc_configuration({"FER_ICE_POLICY": "relay"})
    with pytest.raises(IceConfigError, match="FER_ICE_POLICY must be one of all, relay"):
        rtc_configuration({"FER_ICE_POLICY": "tcp"})


@pytest.mark.parametrize("env, message", [
    ({"FER_TURN_URL": "turn:x.example"}, "FER_TURN_SECRET .or FER_TURN_USERNAME and FER_TURN_CREDENTIAL"),
    ({"FER_TURN_URL": "http://x.example", "FER_TURN_USERNAME": "u", "FER_TURN_CREDENTIAL": "c"}, "turn:"),
    ({"FER_TURN_USERNAME": "u", "FER_TURN_CREDENTIAL": "c"}, "FER_TURN_URL is not"),
    ({"FER_TURN_SECRET": "s"}, "FER_TURN_URL is not"),
    ({"FER_TURN_URL": "turn:x.example", "FER_TURN_SECRET": "s", "FER_TURN_USERNAME": "u"}, "not both"),
    ({"FER_STUN_URLS": "turn:x.example"}, "stun:"),
])
def test_inconsistent_ice_settings_are_refused_with_a_clear_message(env, message):
    with pytest.raises(IceConfigError, match=message):
        ice_servers(env)
