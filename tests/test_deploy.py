"""The deployment recipe in deploy/: the compose file, Caddyfile and coturn configuration agree
with each other and with the app (its settings names, upload limit and health endpoint). Docker
is not needed: the files are parsed and cross-checked."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path

import yaml

from fer_core.live import ice

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
CADDYFILE = (DEPLOY / "Caddyfile").read_text()
TURNSERVER = [line.strip() for line in (DEPLOY / "turnserver.conf").read_text().splitlines()
              if line.strip() and not line.lstrip().startswith("#")]
APPS = {name: svc for name, svc in COMPOSE["services"].items() if name.startswith("app")}


def test_several_identical_app_replicas_with_health_checks_and_turn_settings():
    assert len(APPS) >= 2
    first = next(iter(APPS.values()))
    assert all(svc == first for svc in APPS.values()), "replicas come from one anchor"
    assert "/_stcore/health" in " ".join(first["healthcheck"]["test"])
    env = first["environment"]
    assert {ice.TURN_URL_ENV, ice.TURN_SECRET_ENV, ice.TURN_TTL_ENV, ice.ICE_POLICY_ENV, ice.STUN_ENV} <= set(env)
    assert ice.TURN_CREDENTIAL_ENV not in env, "no static TURN password when a shared secret is used"
    # aiortc uses only the first TURN URL: UDP must come first
    assert env[ice.TURN_URL_ENV].split(",")[0].endswith("transport=udp")


def test_caddy_balances_every_replica_with_a_sticky_cookie_and_streamlits_upload_limit():
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", CADDYFILE).group(1).split()
    assert sorted(upstreams) == sorted(f"{name}:8501" for name in APPS)
    assert re.search(r"lb_policy cookie \w+", CADDYFILE)
    assert "health_uri /_stcore/health" in CADDYFILE
    streamlit = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert re.search(r"max_size (\d+)MB", CADDYFILE).group(1) == str(streamlit["server"]["maxUploadSize"])
    assert "header_up Host" not in CADDYFILE, "Caddy passes the original Host unless told otherwise"
    caddy = COMPOSE["services"]["caddy"]
    assert {"80:80", "443:443"} <= set(caddy["ports"]) and set(caddy["depends_on"]) == set(APPS)


def test_coturn_uses_the_shared_secret_and_relays_to_no_private_range_but_the_apps():
    assert "use-auth-secret" in TURNSERVER and "no-multicast-peers" in TURNSERVER
    command = " ".join(COMPOSE["services"]["coturn"]["command"])
    assert "--static-auth-secret=${FER_TURN_SECRET}" in command
    assert not any(line.startswith("static-auth-secret") for line in TURNSERVER), "no secret in the file"

    def ranges(key: str) -> list[tuple[ipaddress._BaseAddress, ipaddress._BaseAddress]]:
        out = []
        for line in TURNSERVER:
            if line.startswith(key + "="):
                lo, _, hi = line.split("=", 1)[1].partition("-")
                out.append((ipaddress.ip_address(lo), ipaddress.ip_address(hi or lo)))
        return out

    denied = ranges("denied-peer-ip")
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
                "100.64.0.0/10", "fc00::/7", "fe80::/10", "::1/128"):
        n = ipaddress.ip_network(net)
        assert any(lo <= n[0] and n[-1] <= hi for lo, hi in denied if lo.version == n.version), net
    (allowed,) = ranges("allowed-peer-ip")
    subnet = ipaddress.ip_network(COMPOSE["networks"]["appnet"]["ipam"]["config"][0]["subnet"])
    assert allowed == (subnet[0], subnet[-1])
    assert all(svc["networks"] == ["appnet"] for svc in APPS.values())


def test_every_variable_the_recipe_needs_is_in_the_env_example():
    text = (DEPLOY / "docker-compose.yml").read_text() + CADDYFILE
    needed = set(re.findall(r"\$\{(\w+)(?::\?[^}]*)?\}", text)) | set(re.findall(r"\{\$(\w+)\}", CADDYFILE))
    example = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert needed <= set(example), sorted(needed - set(example))
    assert example["FER_TURN_SECRET"] == "" and example["FER_STICKY_SECRET"] == "", "no secret is shipped"
    assert "deploy/.env" in (ROOT / ".gitignore").read_text().split()
