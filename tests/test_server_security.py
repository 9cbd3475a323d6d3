"""The running server (`streamlit run app.py` with the shipped .streamlit/config.toml): XSRF
protection refuses uploads without the visitor's own token."""

from __future__ import annotations

import http.cookiejar
import sys
import tomllib
import urllib.error
import urllib.request

from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_env, wait_healthy

CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def put(port: int, path: str, headers: dict[str, str], opener: urllib.request.OpenerDirector) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"x", method="PUT", headers=headers)
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_uploads_need_the_visitors_xsrf_token(tmp_path):
    assert CONFIG["server"]["enableXsrfProtection"] is True
    port = free_port()
    env = streamlit_env()  # the shipped models: no page here runs a model
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
               "--server.address", "127.0.0.1"]
    with running(command, port, log, env) as server:
        assert wait_healthy(server, port, log) == (200, "ok")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        # the page's script polls the health endpoint first, which hands the browser its token
        with opener.open(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as page:
            assert page.status == 200
        token = next((c.value for c in jar if c.name == "_streamlit_xsrf"), None)
        assert token, "the server sets the XSRF cookie"
        upload = "/_stcore/upload_file/not-a-session/file1"
        # no token, or a forged one: refused before anything else is looked at
        assert put(port, upload, {}, opener) == 403
        assert put(port, upload, {"X-Xsrftoken": "2|00000000|" + "0" * 32 + "|0"}, opener) == 403
        # the visitor's own token passes the check (then the unknown session is refused: 400)
        assert put(port, upload, {"X-Xsrftoken": token}, opener) == 400
