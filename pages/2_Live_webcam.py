"""Live webcam: faces tracked and labelled on every frame, sent back to the browser over WebRTC.

The analysis lives in fer_core.live.LiveProcessor (one per browser session); this page only
wires it to streamlit-webrtc and shows what it measured."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from fer_core.errors import FerError
from fer_core.live import LiveOptions, LiveProcessor
from fer_core.live.capacity import (
    camera_fps,
    camera_size,
    max_streams_from_env,
    may_start,
    reduced_size_from_env,
    video_constraints,
)
from fer_core.live.track import AnalysedTrack
from fer_core.live.tuning import tuning_from_env
from ui.charts import time_share_bars, timeline_figure
from ui.live_ice import connecting_notice, ice_configuration
from ui.resources import analysis_gate, get_analyzer, stream_activity
from ui.settings import sidebar_settings
from ui.startup import app_startup

if TYPE_CHECKING:  # a type only: tests replace streamlit_webrtc with a stub that has no config module
    from streamlit_webrtc.config import Translations

TIMELINE_SECONDS = 60  # the chart shows the last minute
PROCESSOR_KEY = "live_processor"
TRACK_KEY = "live_track"  # this session's AnalysedTrack, replaced when its WebRTC session ended
STALL_SECONDS = 3.0  # no analysed frame for this long while playing: the camera went away

TRANSLATIONS: Translations = {
    "start": "Start camera",
    "stop": "Stop",
    "media_api_not_available": "This browser cannot open a camera here (the page must be served over "
                               "HTTPS or from localhost).",
    "device_ask_permission": "Allow camera access in your browser to start.",
    "device_not_available": "No camera found, or another application is using it.",
    "device_access_denied": "Camera access was denied. Allow it in the browser's site settings, then "
                            "press Start again.",
}

st.set_page_config(page_title="Live webcam · Facial expressions", page_icon="🎥", layout="wide")
app_startup()  # the session reaper, once per server: a deep link may open this page first
settings = sidebar_settings()
st.title("Live webcam")
st.caption("Each video frame is analysed on the server: faces are tracked (their number stays with "
           "them) and their labels smoothed over time. When the model is slower than the camera, "
           "frames are skipped so the video never falls behind.")


try:
    analyzer = get_analyzer(settings)
    gate = analysis_gate()  # FER_ANALYSIS_SLOTS: a bad value is a clear error here
    stream_limit = max_streams_from_env(os.environ)  # FER_MAX_STREAMS: likewise
    tuning = tuning_from_env(os.environ)  # FER_DETECT_EVERY, FER_LIVE_FRAME_FORMAT: likewise
    reduced_size = reduced_size_from_env(os.environ)  # FER_REDUCED_CAMERA_SIZE: likewise
except FerError as exc:  # a missing model, a bad FER_* setting: the message says what to fix
    st.error(f"Cannot start the analysis: {exc}")
    st.stop()

with st.sidebar:
    st.subheader("Webcam overlay")
    show_probabilities = st.toggle("Probability bars", value=False, key="live_show_probabilities")
    show_stats = st.toggle("FPS and latency", value=True, key="live_show_stats")

options = LiveOptions(smoothing=settings.smoothing, show_probabilities=show_probabilities,
                      show_stats=show_stats)
# One processor per browser session; reruns hand it the current settings (a locked swap).
if PROCESSOR_KEY not in st.session_state:
    st.session_state[PROCESSOR_KEY] = LiveProcessor(analyzer, options, gate=gate, activity=stream_activity(),
                                                    tuning=tuning)
processor: LiveProcessor = st.session_state[PROCESSOR_KEY]
processor.configure(analyzer, options)

# A full server turns new streams away rather than freeze every stream (fer_core.live.capacity).
if not may_start(stream_activity(), id(processor), stream_limit):
    st.warning(f"This server is carrying as many live webcam streams as it can ({stream_limit}); one more "
               "would freeze everyone's video. Try again in a minute, or analyse a photo or a video file "
               "meanwhile.")
    st.button("Try again")
    st.stop()



def video_path(processor: LiveProcessor, pacing: str) -> dict[str, Any]:
    """webrtc_streamer's arguments for the video: each analysed frame sent once (the camera frames
    into a sink, fer_core.live.track's AnalysedTrack out; a new track for each WebRTC session), or
    streamlit-webrtc's processing track, which answers every camera frame (FER_LIVE_PACING=camera)."""
    if pacing == "camera":
        # called with every frame that queued up during the last analysis; analyses the newest
        return {"queued_video_frames_callback": processor.recv_queued, "on_video_ended": processor.on_ended,
                "async_processing": True}
    track: AnalysedTrack | None = st.session_state.get(TRACK_KEY)
    if track is None or track.readyState != "live":
        track = st.session_state[TRACK_KEY] = AnalysedTrack(processor)
    return {"sink_video_track": track.sink, "source_video_track": track}


video_col, panel_col = st.columns([3, 2], gap="large")
others = stream_activity().active(excluding=id(processor))  # the server's other live streams
with video_col:
    rtc_configuration = ice_configuration()
    ctx = webrtc_streamer(
        key="fer-live-webcam",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=rtc_configuration,
        # full frame rate and size while this server carries few streams, less beyond (fer_core.live.capacity)
        media_stream_constraints={"video": video_constraints(camera_fps(others), *camera_size(others, reduced_size)),
                                  "audio": False},
        **video_path(processor, tuning.pacing),
        video_html_attrs={"autoPlay": True, "controls": False, "muted": True,
                          "style": {"width": "100%"}},
        translations=TRANSLATIONS,
    )
    if ctx.state.signalling and not ctx.state.playing:
        connecting_notice(rtc_configuration)  # names a configured TURN relay that does not answer
    if not ctx.state.playing:
        with st.expander("Camera not working?"):
            st.markdown(
                "- **Permission denied / NotAllowedError**: allow the camera for this site (the icon "
                "in the address bar), then press Start camera again.\n"
                "- **Device not found / NotReadableError**: plug a camera in, or close other apps "
                "using it.\n"
                "- **No camera API**: browsers only open cameras on HTTPS pages or on localhost.\n"
                "- **Stuck on connecting**: the network blocks direct WebRTC; the server needs a "
                "TURN relay (see docs/deploying.md).")
    st.button("New session", on_click=processor.reset,
              help="Clear the timeline and the summary (they also restart when the camera restarts).")


def live_numbers() -> None:
    snap = processor.snapshot()
    if snap.last_error:
        st.error(f"The analysis failed on some frames (the video keeps running): {snap.last_error}")
    stalled = snap.idle_s is not None and snap.idle_s > STALL_SECONDS
    if ctx.state.playing and (snap.ended or stalled):
        st.warning("No video is arriving from the camera (unplugged, access revoked, or the "
                   "connection dropped). Press Stop, then Start camera again.")
    if snap.frames_analyzed == 0:
        st.info("Press **Start camera** to begin. Timeline and summary appear here.")
        return
    # the readout drawn on the latest video frame (last 2 s), so the page and the video agree
    a, b, c = st.columns(3)
    a.metric("Analysed FPS", f"{snap.fps:.1f}", help="Frames analysed per second, over the last 2 s.")
    b.metric("Latency", f"{snap.latency_ms:.0f} ms", help="Time to analyse one frame (median of the last 2 s).")
    c.metric("Skipped", f"{snap.drop_share:.0%}",
             help="Share of the frames of the last 2 s that arrived while the previous one was being "
                  f"analysed ({snap.session_drop_share:.0%} since the camera started).")


def live_charts() -> None:
    snap = processor.snapshot()
    if snap.frames_analyzed == 0:
        return
    times, probabilities = snap.timeline_arrays(TIMELINE_SECONDS)
    st.plotly_chart(timeline_figure(times, probabilities, title="Main face, last minute"), key="live_timeline")
    st.plotly_chart(time_share_bars(snap.summary.shares()), key="live_summary")
    d1, d2 = st.columns(2)
    # callables: the CSVs are written when clicked, not on every refresh of the panel
    d1.download_button("Summary (CSV)", snap.summary.to_csv, "emotion_summary.csv", "text/csv",
                       on_click="ignore", key="live_summary_csv")
    d2.download_button("Timeline (CSV)", snap.timeline_csv, "emotion_timeline.csv", "text/csv",
                       on_click="ignore", key="live_timeline_csv")


with panel_col:
    # While the camera runs the panel refreshes itself without rerunning the page: the figures
    # every second, the charts every FER_LIVE_CHARTS_EVERY seconds (fer_core.live.tuning).
    playing = ctx.state.playing
    st.fragment(run_every=1.0 if playing else None)(live_numbers)()
    st.fragment(run_every=float(tuning.charts_every_s) if playing else None)(live_charts)()
