"""Server-wide start-up work, done once per server process whichever page a visitor opens first.

app.py calls `app_startup()` on every run, and so does every page: a pages/ folder beside app.py
makes Streamlit start each server process in its old multipage mode, where a deep link (say
/Photo) runs the page file alone, without app.py, until some visitor's request has run app.py
and with it st.navigation (streamlit.runtime.scriptrunner.script_runner._mpa_v1, Streamlit
1.67). The work itself is cached per process, so calling it on every run costs nothing.

Kept out of `ui.settings.sidebar_settings()`, which only draws the shared settings."""

from __future__ import annotations

import streamlit as st

from ui import session_reaper


def app_startup(*, entry_point: bool = False) -> None:
    """Start what the server needs once: the session reaper (shuts down the sessions whose
    browser left, with their uploads and results; see ui.session_reaper). A page file (not
    app.py, the `entry_point`, whose own st.navigation call does it) opened in Streamlit's old
    multipage mode hands over to app.py's navigation first."""
    session_reaper.start_session_reaper()
    if not entry_point:
        _leave_old_multipage_mode()


_handed_over = False  # once per process, as the mode switch itself


def _leave_old_multipage_mode() -> None:
    """A deep link that is a server process's first request runs the page file alone, under the
    old sidebar menu built from pages/ (named after the files, app.py first as "app"). Switch
    the process to app.py's st.navigation, which is where it goes anyway once app.py has run, and
    rerun: the same page comes back under the app's own menu. Once per process, before the page
    has drawn anything or read a widget (Streamlit's AppTest resets the mode before every run,
    and a rerun there would swallow the click a test makes). PagesManager's class flag is
    Streamlit's own (streamlit.runtime.pages_manager, Streamlit 1.67);
    tests/test_server_security.py opens a deep link on a fresh server."""
    global _handed_over
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not _handed_over:
        _handed_over = True
        PagesManager.uses_pages_directory = False
        st.rerun()
