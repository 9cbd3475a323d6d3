"""Server-wide start-up work, done once per server process whichever page a visitor opens first.

app.py calls `app_startup()` on every run, and so does every page: a pages/ folder beside app.py
makes Streamlit start each server process in its old multipage mode, where a deep link (say
/Photo) runs the page file alone, without app.py, until some visitor's request has run app.py
and with it st.navigation (streamlit.runtime.scriptrunner.script_runner._mpa_v1, Streamlit
1.67). The work itself is cached per process, so calling it on every run costs nothing.

Kept out of `ui.settings.sidebar_settings()`, which only draws the shared settings."""

from __future__ import annotations

from ui import session_reaper


def app_startup() -> None:
    """Start what the server needs once: the session reaper (shuts down the sessions whose
    browser left, with their uploads and results; see ui.session_reaper)."""
    session_reaper.start_session_reaper()
