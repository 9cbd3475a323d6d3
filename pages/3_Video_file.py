"""Video file: an uploaded video analysed frame by frame (faces tracked, labels smoothed),
played back annotated, with the main face's emotion timeline and a CSV of every face per frame.

The work is fer_core.video.process_video (in memory, no temporary files); this page only shows
progress and results. The latest result is kept in this session's state so that a click on a
chart or the face selector does not analyse the whole video again."""

from __future__ import annotations

import logging
from pathlib import PurePath

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from fer_core.errors import FerError
from fer_core.video import ALLOWED_TEXT, MAX_FPS, MAX_SECONDS, Progress, VideoResult, process_video
from ui.charts import timeline_figure
from ui.resources import get_analyzer
from ui.results import VIDEO_COLUMNS, to_csv, video_rows
from ui.settings import sidebar_settings

VIDEO_TYPES = ["mp4", "mov", "webm", "avi", "mkv"]
RESULT_KEY = "video_result"  # (upload id, settings, bars) -> VideoResult; only the latest

LOG = logging.getLogger("fer_app.video")

st.set_page_config(page_title="Video file · Facial expressions", page_icon="🎞️", layout="wide")
settings = sidebar_settings()
st.title("Video file")
st.caption(f"Upload a video: every frame is analysed, faces keep their number from frame to frame and "
           f"their labels are smoothed (sidebar). At most the first {MAX_SECONDS:.0f} seconds are "
           f"analysed, at up to {MAX_FPS:.0f} frames per second and at most 720p. The video is processed "
           "in memory and never stored.")

upload = st.file_uploader("Video", type=VIDEO_TYPES, help=f"{ALLOWED_TEXT}.")
show_bars = st.toggle("Probability bars on the video", value=False,
                      help="Draw all seven probabilities next to each face in the annotated video.")
if upload is None:
    st.session_state.pop(RESULT_KEY, None)  # the user removed the video: let its result go
    st.info("Upload a video to start.")
    st.stop()


def analyse(upload: UploadedFile) -> VideoResult:
    try:
        analyzer = get_analyzer(settings)
    except FerError as exc:
        st.error(f"Cannot start the analysis: {exc}")
        st.stop()
    bar = st.progress(0.0, text="Analysing the video…")
    shown = {"percent": -1}

    def on_progress(progress: Progress) -> None:
        percent = int(progress.fraction * 100)
        if percent == shown["percent"]:  # one message per percent, not per frame
            return
        shown["percent"] = percent
        total = f" of {progress.frames_expected}" if progress.frames_expected else ""
        bar.progress(progress.fraction, text=f"Analysing the video… frame {progress.frames_done}{total} "
                                             f"({progress.seconds_done:.1f} s of video done)")

    try:
        return process_video(upload, analyzer, smoothing=settings.smoothing, show_probabilities=show_bars,
                             name=upload.name, on_progress=on_progress)
    except FerError as exc:  # VideoLoadError and kin: the message says what is wrong with the file
        st.error(str(exc))
        st.stop()
    except Exception:  # a bug: say so, and leave the traceback (no pixels in it) to the server log
        LOG.exception("video analysis failed")
        st.error("The video could not be analysed because of an error in the app (logged on the server).")
        st.stop()
    finally:
        bar.empty()


key = (upload.file_id, settings, show_bars)
cached = st.session_state.get(RESULT_KEY)
if cached is not None and cached[0] == key:
    result: VideoResult = cached[1]
else:
    st.session_state.pop(RESULT_KEY, None)  # free the old result before making a new one
    result = analyse(upload)
    st.session_state[RESULT_KEY] = (key, result)

for note in result.notes:
    st.info(note)

face_ids = result.face_ids()
left, right = st.columns([3, 2])
with left:
    st.video(result.video, format=result.mime)
    st.download_button("Download annotated video (MP4)", result.video, file_name=f"{PurePath(upload.name).stem}"
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
                   file_name=f"{PurePath(upload.name).stem}_faces.csv", mime="text/csv", on_click="ignore",
                   key="csv")
