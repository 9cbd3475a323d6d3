"""The shipped deploy/Caddyfile with real servers: Caddy (Debian's package) with `tls internal`
in front of two `streamlit run` replicas, and headless Chromium over HTTPS.

The Caddyfile is the one in deploy/, with only what a test machine needs changed: its global
options (a local CA and ports instead of Let's Encrypt), the site address, and the compose
service names replaced by the two replicas' local ports. The replicas serve zoos that differ in
the model's name only (`tiny` / `tiny_b`), so the home page, which names the default model,
tells which replica answered.

Checked: the webcam page works over HTTPS (browsers give cameras to secure pages only), the
stream runs through Caddy's WebSocket proxying and comes back with our overlay; a visitor's
`fer_replica` cookie pins every reload to one replica, and a second browser context holding
that cookie lands on the same replica."""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.browser import WebcamPage, camera_canvas, find_chromium, launch, write_y4m
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

CADDY = shutil.which("caddy")
pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium fonts-dejavu-core)"),
    pytest.mark.skipif(CADDY is None, reason="no Caddy (apt-get install caddy)"),
]
UPSTREAMS = "app1:8501 app2:8501 app3:8501"  # as in deploy/Caddyfile and the compose file
GLOBAL_OPTIONS = "{\n\temail {$FER_ACME_EMAIL}\n}"


def local_caddyfile(https_port: int, http_port: int, replica_ports: list[int]) -> str:
    """deploy/Caddyfile adapted to this machine (see the module docstring)."""
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    assert GLOBAL_OPTIONS in text and UPSTREAMS in text, "deploy/Caddyfile changed: update this test"
    text = text.replace(GLOBAL_OPTIONS, "{\n\tlocal_certs\n\tskip_install_trust\n\tadmin off\n"
                                        f"\thttp_port {http_port}\n\thttps_port {https_port}\n}}")
    return text.replace(UPSTREAMS, " ".join(f"127.0.0.1:{p}" for p in replica_ports))


def renamed_zoo(zoo: Path, name: str, where: Path) -> Path:
    """A copy of the tiny zoo whose one model is called `name`."""
    shutil.copytree(zoo, where)
    (where / "tiny").rename(where / name)
    index = json.loads((where / "index.json").read_text())
    index["default"] = name
    index["models"] = {name: index["models"]["tiny"]}
    (where / "index.json").write_text(json.dumps(index))
    return where


def https_status(url: str) -> int | None:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # Caddy's own local CA
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def replica_of(page) -> str:
    """Which replica rendered the home page: it names its default model."""
    page.get_by_text(re.compile(r"The default model, tiny(_b)?,")).first.wait_for(timeout=60_000)
    return "b" if "The default model, tiny_b," in page.inner_text("body") else "a"


def test_webcam_over_https_through_caddy_with_sticky_replicas(tiny_models_dir, astronaut, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (see requirements-dev)")
    zoo_b = renamed_zoo(tiny_models_dir, "tiny_b", tmp_path / "zoo_b")
    canvas = camera_canvas(astronaut)
    video = tmp_path / "camera.y4m"
    write_y4m(video, [canvas] * 10)

    ports = [free_port(), free_port()]
    https_port, http_port = free_port(), free_port()
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(local_caddyfile(https_port, http_port, ports))
    caddy_env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
                 "XDG_CONFIG_HOME": str(tmp_path / "config"), "FER_DOMAIN": f"localhost:{https_port}",
                 "FER_STICKY_SECRET": "test-sticky-secret", "FER_ACME_EMAIL": ""}
    base = f"https://localhost:{https_port}"
    logs = [tmp_path / "replica_a.log", tmp_path / "replica_b.log"]
    with (running(streamlit_command(ports[0]), ports[0], logs[0],
                  streamlit_env({"FER_MODELS_DIR": str(tiny_models_dir), "FER_STUN_URLS": "none"})) as a,
          running(streamlit_command(ports[1]), ports[1], logs[1],
                  streamlit_env({"FER_MODELS_DIR": str(zoo_b), "FER_STUN_URLS": "none"})) as b):
        wait_healthy(a, ports[0], logs[0])
        wait_healthy(b, ports[1], logs[1])
        caddy_log = tmp_path / "caddy.log"
        with open(caddy_log, "w") as out:  # the child keeps its own copy of the descriptor
            caddy = subprocess.Popen([CADDY, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                                     env=caddy_env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while https_status(f"{base}/_stcore/health") != 200:
                assert caddy.poll() is None and time.monotonic() < deadline, caddy_log.read_text()[-3000:]
                time.sleep(0.5)
            with sync_api.sync_playwright() as pw:
                browser = launch(pw, video)
                try:
                    visitor = WebcamPage(browser, f"{base}/Live_webcam", canvas, ignore_https_errors=True)
                    visitor.start()
                    assert visitor.wait_processed() is not None, (
                        f"no processed frame over HTTPS:\n{visitor.console[-10:]}\n{caddy_log.read_text()[-2000:]}")
                    assert visitor.page.evaluate("window.isSecureContext") is True
                    cookie = next(c for c in visitor.context.cookies() if c["name"] == "fer_replica")
                    visitor.page.goto(f"{base}/", wait_until="domcontentloaded")
                    first = replica_of(visitor.page)
                    for _ in range(3):
                        visitor.page.reload(wait_until="domcontentloaded")
                        assert replica_of(visitor.page) == first

                    second = browser.new_context(ignore_https_errors=True)
                    second.add_cookies([cookie])
                    page = second.new_page()
                    for _ in range(3):
                        page.goto(f"{base}/", wait_until="domcontentloaded")
                        assert replica_of(page) == first
                    assert [c["value"] for c in second.cookies() if c["name"] == "fer_replica"] == [cookie["value"]]

                    # stickiness with one replica dead would pass the checks above: new visitors
                    # (no cookie) must reach both. Caddy picks at random for them, so 24 fresh
                    # visitors all missing one replica has odds of 2 in 16 million
                    seen = {first}
                    for _ in range(24):
                        fresh = browser.new_context(ignore_https_errors=True)
                        fresh_page = fresh.new_page()
                        fresh_page.goto(f"{base}/", wait_until="domcontentloaded")
                        seen.add(replica_of(fresh_page))
                        fresh.close()
                        if seen == {"a", "b"}:
                            break
                    assert seen == {"a", "b"}, f"new visitors only ever reached replica {seen}"
                finally:
                    browser.close()
        finally:
            caddy.terminate()
            caddy.wait(15)
