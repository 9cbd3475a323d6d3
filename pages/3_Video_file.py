"""Video file: an uploaded video analysed frame by frame (faces tracked, labels smoothed),
played back annotated, with the main face's emotion timeline and a CSV of every face per frame.

The work is fer_core.video.process_video (in memory, no temporary files); this page only shows
progress and results. The last video and its analysis are kept in this session's memory: they
survive a visit to another page, a display setting (smoothing, bars) only redraws the video from
the stored analysis, and a model or detector change asks before analysing again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePath

import streamlit as st

from fer_core.errors import FerError
from fer_core.video import ALLOWED_TEXT, MAX_FPS, MAX_SECONDS, Progress, VideoResult, process_video, redraw_video
from ui.charts import timeline_figure
from ui.resources import get_analyzer
from ui.results import VIDEO_COLUMNS, to_csv, video_rows
from ui.settings import Settings, sidebar_settings
from ui.startup import app_startup

VIDEO_TYPES = ["mp4", "mov", "webm", "avi", "mkv"]
VIDEO_KEY = "video_kept"  # this session's last video and its analysis (memory only; see KeptVideo)
UPLOAD_KEY = "video_upload"
SHOWN_WIDTH = 560  # about how wide the player is in this layout: labels are drawn legible at it

LOG = logging.getLogger("fer_app.video")


@dataclass
class KeptVideo:
    """The last video of this browser session, kept in memory so that it and its results survive
    a visit to another page and a display setting is a redraw, not a new analysis. The session
    reaper drops it with the session; "Clear results" drops it at once."""

    file_id: str
    name: str
    data: bytes
    analysed_with: Settings  # with smoothing 0: smoothing is redrawn from the stored analysis
    result: VideoResult


def _forget_removed_video() -> None:
    # the user removed the file (not a page change, which empties the uploader without a callback)
    if st.session_state.get(UPLOAD_KEY) is None:
        st.session_state.pop(VIDEO_KEY, None)


st.set_page_config(page_title="Video file · Facial expressions", page_icon="🎞️", layout="wide")
app_startup()  # the session reaper, once per server: a deep link may open this page first
settings = sidebar_settings()
st.title("Video file")
st.caption(f"Upload a video: every frame is analysed, faces keep their number from frame to frame and "
           f"their labels are smoothed (sidebar). At most the first {MAX_SECONDS:.0f} seconds are "
           f"analysed, at up to {MAX_FPS:.0f} frames per second and at most 720p. The video is processed "
           "in memory and never stored.")

upload = st.file_uploader("Video", type=VIDEO_TYPES, help=f"{ALLOWED_TEXT}.", key=UPLOAD_KEY,
                          on_change=_forget_removed_video)
kept: KeptVideo | None = st.session_state.get(VIDEO_KEY)
# back from another page the toggle starts afresh: start it where the kept video was drawn
show_bars = st.toggle("Probability bars on the video", value=kept.result.show_probabilities if kept else False,
                      key="video_bars",
                      help="Draw all seven probabilities next to each face in the annotated video.")


def run(work: Callable[[Callable[[Progress], None]], VideoResult], verb: str) -> VideoResult:
    """An analysis or a redraw with a progress bar; a clear message (and the page stops) if it fails."""
    bar = st.progress(0.0, text=f"{verb}…")
    shown = {"percent": -1}

    def on_progress(progress: Progress) -> None:
        percent = int(progress.fraction * 100)
        if percent == shown["percent"]:  # one message per percent, not per frame
            return
        shown["percent"] = percent
        total = f" of {progress.frames_expected}" if progress.frames_expected else ""
        bar.progress(progress.fraction, text=f"{verb}… frame {progress.frames_done}{total} "
                                             f"({progress.seconds_done:.1f} s of video done)")

    try:
        return work(on_progress)
    except FerError as exc:  # VideoLoadError and kin: the message says what is wrong with the file
        st.error(str(exc))
        st.stop()
    except Exception:  # a bug: say so, and leave the traceback (no pixels in it) to the server log
        LOG.exception("video analysis failed")
        st.error("The video could not be analysed because of an error in the app (logged on the server).")
        st.stop()
    finally:
        bar.empty()


def analyse(file_id: str, name: str, data: bytes) -> KeptVideo:
    try:
        analyzer = get_analyzer(settings)
    except FerError as exc:
        st.error(f"Cannot start the analysis: {exc}")
        st.stop()
    st.session_state.pop(VIDEO_KEY, None)  # free the old result before making a new one
    result = run(lambda on_progress: process_video(
        data, analyzer, smoothing=settings.smoothing, show_probabilities=show_bars, name=name,
        display_width=SHOWN_WIDTH, on_progress=on_progress), "Analysing the video")
    kept = KeptVideo(file_id, name, data, analysis_settings(settings), result)
    st.session_state[VIDEO_KEY] = kept
    return kept


def analysis_settings(chosen: Settings) -> Settings:
    return replace(chosen, smoothing=0.0)


if upload is not None and (kept is None or kept.file_id != upload.file_id):
    kept = analyse(upload.file_id, upload.name, upload.getvalue())
if kept is None:
    st.info("Upload a video to start.")
    st.stop()

if upload is None:
    st.caption(f"Showing “{kept.name}” from earlier in this session (kept in memory only, until you clear "
               "it or close the tab).")
if st.button("Clear results", key="video_clear", help="Forget this video and its results now."):
    st.session_state.pop(VIDEO_KEY, None)
    st.rerun()

changed = analysis_settings(settings) != kept.analysed_with
if changed:
    st.warning("The model or detector settings in the sidebar changed since this video was analysed. The "
               "results below are from the earlier settings; analysing again takes about as long as the "
               "first time.")
    if st.button("Analyse again with the new settings", key="video_reanalyse", type="primary"):
        analyse(kept.file_id, kept.name, kept.data)
        st.rerun()  # draw the page again without the warning
elif (kept.result.smoothing, kept.result.show_probabilities) != (settings.smoothing, show_bars):
    # a display setting: draw the stored analysis again (no detection, no classification)
    shown = kept
    shown.result = run(lambda on_progress: redraw_video(
        shown.data, shown.result, smoothing=settings.smoothing, show_probabilities=show_bars, name=shown.name,
        on_progress=on_progress), "Redrawing the video (the analysis is kept)")
result = kept.result
name = kept.name

for note in result.notes:
    st.info(note)

face_ids = result.face_ids()
left, right = st.columns([3, 2])
with left:
    st.video(result.video, format=result.mime)
    st.download_button("Download annotated video (MP4)", result.video, file_name=f"{PurePath(name).stem}"
                       "_annotated.mp4", mime=result.mime, on_click="ignore", key="mp4")
with right:
    st.metric("Analysed", f"{result.seconds:.1f} s")
    st.metric("Frames", f"{len(result.frames)} at {result.fps:.3g} fps ({result.width}x{result.height})")
    with_face = sum(1 for record in result.frames if record.faces)
    st.metric("Frames with a face", f"{with_face} of {len(result.frames)}")
    st.metric("Faces tracked", len(face_ids))

st.subheader("Emotion timeline")
if not face_ids:
    st.warning("No face was found in any frame. Faces need to be reasonably frontal, lit and not tiny; "
               "try another detector or a lower detection threshold in the sidebar.")
else:
    main = result.main_face_id()
    face_id = st.selectbox("Face", face_ids, index=face_ids.index(main) if main in face_ids else 0,
                           format_func=lambda fid: f"#{fid}" + (" (in the most frames)" if fid == main else ""))
    times, probabilities = result.timeline(face_id)
    st.plotly_chart(timeline_figure(times, probabilities, title=f"Face #{face_id}"), key="timeline")
    st.caption("Gaps: frames where this face is not in view. The numbers are the smoothed probabilities "
               "drawn on the video.")

rows = video_rows(result.frames)
st.download_button("Download every face per frame (CSV)", to_csv(rows, VIDEO_COLUMNS),
                   file_name=f"{PurePath(name).stem}_faces.csv", mime="text/csv", on_click="ignore",
                   key="csv")
