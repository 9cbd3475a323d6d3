"""Photo: every face in uploaded photos (or a camera snapshot) boxed, numbered and labelled,
a card per face with all seven probabilities, a table of all faces, PNG/CSV/JSON downloads.

Uploads stay in memory: the photos and the faces found are kept in this session's state, so
changing a display option does not analyse the photos again and a visit to another page does
not lose them ("Clear results" forgets them)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import PurePath

import numpy as np
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from fer_core.drawing import draw_faces, face_thumbnail
from fer_core.errors import FerError
from fer_core.image_io import ALLOWED_FORMATS_TEXT, downscale_for_detection, encode_png, load_image, scale_box
from fer_core.labels import EMOTIONS
from fer_core.pipeline import FaceResult
from ui.charts import probability_bars
from ui.resources import get_analyzer
from ui.results import PHOTO_COLUMNS, PhotoResult, photo_json, photo_rows, to_csv
from ui.settings import sidebar_settings
from ui.startup import app_startup

MAX_FILES = 20  # per run: more would keep the page busy for minutes on a small server
MAX_CARDS = 12  # per photo; every face is still in the table and the downloads
CARDS_PER_ROW = 4
THUMB_SIDE = 72  # pixels: a face card's thumbnail
DISPLAY_SIDE = 1600  # the annotated image is shown at most this large; downloads keep full size
FACES_KEY = "photo_faces"  # session cache: (content digest, settings) -> Analysed
DISPLAY_KEY = "photo_display"  # session cache: content digest -> (display-size copy, its scale)
KEPT_KEY = "photo_kept"  # this session's photos (list[KeptPhoto]), in memory only
UPLOAD_KEY, CAMERA_KEY = "photo_upload", "photo_camera"

LOG = logging.getLogger("fer_app.photo")

st.set_page_config(page_title="Photo · Facial expressions", page_icon="🖼️", layout="wide")
app_startup()  # the session reaper, once per server: a deep link may open this page first
settings = sidebar_settings()
st.title("Photo")
st.caption("Find every face in a photo and estimate its expression. Photos are analysed in memory "
           "and never stored.")

@dataclass(frozen=True)
class KeptPhoto:
    """An uploaded photo kept in this session's memory (never on disk), so that it and its
    results are still there after a visit to another page; "Clear results" forgets them."""

    file_id: str
    name: str
    data: bytes = field(repr=False)
    digest: str  # sha256 of `data`: the caches' key, so they never need the decoded image


@dataclass(frozen=True)
class Analysed:
    """One photo's faces under one set of settings, with the thumbnails of its cards (cut from
    the full-size image while it was decoded, so showing them again needs no decode)."""

    result: PhotoResult
    thumbnails: tuple[np.ndarray, ...] = field(repr=False)


def _forget_removed_photos(widget_key: str) -> None:
    # the user emptied the uploader (a page change empties it too, but without this callback)
    if not st.session_state.get(widget_key):
        forget_photos()


def forget_photos() -> None:
    st.session_state.pop(KEPT_KEY, None)
    st.session_state.pop(FACES_KEY, None)
    st.session_state.pop(DISPLAY_KEY, None)


def kept_photos(files: list[UploadedFile]) -> tuple[list[KeptPhoto], list[tuple[str, str]]]:
    """The uploads without repeats of the same content, and (repeat, first) names for a note."""
    seen: dict[str, str] = {}
    kept, repeats = [], []
    for index, upload in enumerate(files):
        data = upload.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        name = upload.name or f"photo {index + 1}"
        if digest in seen:
            repeats.append((name, seen[digest]))
        else:
            seen[digest] = name
            kept.append(KeptPhoto(upload.file_id, name, data, digest))
    return kept, repeats


source = st.radio("Source", ["Upload photos", "Take a photo"], horizontal=True, label_visibility="collapsed")
if source == "Upload photos":
    # no type= filter: Streamlit would only turn a wrong file's chip red; load_image says why instead
    uploads = st.file_uploader(
        "Photos", accept_multiple_files=True, key=UPLOAD_KEY, on_change=_forget_removed_photos, args=(UPLOAD_KEY,),
        help=f"{ALLOWED_FORMATS_TEXT}; several at once. Up to {MAX_FILES} are analysed per run.")
else:
    shot = st.camera_input("Take a photo", key=CAMERA_KEY, on_change=_forget_removed_photos, args=(CAMERA_KEY,))
    uploads = [shot] if shot is not None else []
show_bars = st.toggle("Probability bars on the image", value=False,
                      help="Draw all seven probabilities next to each face in the annotated image.")

if uploads:
    photos, repeats = kept_photos(uploads)
    for repeat, first in repeats:
        st.info(f"“{repeat}” is the same file as “{first}”: it is shown once.")
    if len(photos) > MAX_FILES:
        st.warning(f"{len(photos)} photos were uploaded; the first {MAX_FILES} are analysed. "
                   "Upload the rest in another run.")
        photos = photos[:MAX_FILES]
    st.session_state[KEPT_KEY] = photos
else:
    photos = st.session_state.get(KEPT_KEY, [])
    if photos:
        st.caption("Showing your photos from earlier in this session (kept in memory only, until you clear "
                   "them or close the tab).")
if not photos:
    st.info("Upload one or more photos, or switch to the camera, to start.")
    st.stop()
if st.button("Clear results", key="photo_clear", help="Forget these photos and their results now."):
    forget_photos()
    st.rerun()

try:
    analyzer = get_analyzer(settings)
except FerError as exc:
    st.error(f"Cannot start the analysis: {exc}")
    st.stop()


def analyse(photo: KeptPhoto) -> tuple[Analysed, np.ndarray, float]:
    """The faces of one photo, its display-size copy and that copy's scale. Both come from this
    session's caches, keyed by the upload's bytes (and the settings photos use); the photo is
    decoded only when one of them misses (a new photo, or a model or detector change), never to
    show a result again."""
    faces: dict = st.session_state.setdefault(FACES_KEY, {})
    display: dict = st.session_state.setdefault(DISPLAY_KEY, {})
    key = (photo.digest, replace(settings, smoothing=0.0))  # smoothing is for video: photos ignore it
    if key not in faces or photo.digest not in display:
        rgb = load_image(photo.data, name=photo.name)
        if photo.digest not in display:
            display[photo.digest] = downscale_for_detection(rgb, DISPLAY_SIDE)
        if key not in faces:
            found = tuple(analyzer.analyze(rgb))
            faces[key] = Analysed(PhotoResult(photo.name, int(rgb.shape[1]), int(rgb.shape[0]), found),
                                  tuple(face_thumbnail(rgb, face.box) for face in found[:MAX_CARDS]))
        del rgb  # only the display-size copy stays
    analysed: Analysed = faces[key]
    if analysed.result.file != photo.name:  # the same bytes uploaded again under another name
        analysed = replace(analysed, result=replace(analysed.result, file=photo.name))
    shown, scale = display[photo.digest]
    return analysed, shown, scale


def annotated_png(photo: KeptPhoto, result: PhotoResult, bars: bool) -> Callable[[], bytes]:
    """Deferred download: decoded and drawn again only when the button is clicked, so a
    24-megapixel annotated copy is not held in memory for every photo on the page."""
    return lambda: encode_png(draw_faces(load_image(photo.data, name=result.file), result.faces,
                                         show_probabilities=bars))


def scaled_face(face: FaceResult, scale: float) -> FaceResult:
    """The face as it lies on the display-size copy of its photo."""
    return face if scale == 1.0 else replace(face, box=scale_box(face.box, 1.0 / scale))


def show_cards(analysed: Analysed, index: int) -> None:
    """A card per face: its thumbnail (to find "#14" of 19 at a glance), label and all seven bars."""
    result = analysed.result
    faces = result.faces[:MAX_CARDS]
    for start in range(0, len(faces), CARDS_PER_ROW):
        columns = st.columns(CARDS_PER_ROW)
        for column, face, thumbnail in zip(columns, faces[start:start + CARDS_PER_ROW],
                                           analysed.thumbnails[start:start + CARDS_PER_ROW]):
            with column.container(border=True):
                thumb, text = st.columns([1, 2], vertical_alignment="center")
                thumb.image(thumbnail, width=THUMB_SIDE)
                text.markdown(f"**Face #{face.face_id}** · {face.emotion} {face.confidence:.0%}")
                st.plotly_chart(probability_bars(face.probabilities, height=190),
                                key=f"bars-{index}-{face.face_id}", config={"displayModeBar": False})
    if len(result.faces) > MAX_CARDS:
        st.caption(f"Cards for the first {MAX_CARDS} of {len(result.faces)} faces; all of them are in "
                   "the table below and in the downloads.")


results: list[PhotoResult] = []
for index, photo in enumerate(photos):
    name = photo.name
    with st.container(border=len(photos) > 1):
        if len(photos) > 1:
            st.subheader(name)
        try:
            analysed, shown, scale = analyse(photo)
        except FerError as exc:  # unreadable, too small, an odd image: the message says which
            st.error(f"“{name}”: {exc}" if name not in str(exc) else str(exc))
            continue
        except Exception:  # a bug: say so, and leave the traceback (no pixels in it) to the server log
            LOG.exception("photo analysis failed")
            st.error(f"“{name}” could not be analysed because of an error in the app (logged on the server).")
            continue
        result = analysed.result
        results.append(result)
        faces = result.faces
        if faces:  # drawn on a copy of the cached display-size copy: cheaper, and sized for the screen
            shown = draw_faces(shown, [scaled_face(face, scale) for face in faces], show_probabilities=show_bars)
        count = f"{len(faces)} face{'s' if len(faces) != 1 else ''}" if faces else "no face"
        st.image(shown, caption=f"{name}: {count} ({result.width}x{result.height})")
        if scale != 1.0:
            st.caption(f"Shown reduced; the PNG download has the full {result.width}x{result.height} pixels.")
        if len(faces) >= analyzer.max_faces:
            st.info(f"At most {analyzer.max_faces} faces are analysed per photo: these are the largest ones "
                    "the detector found.")
        if not faces:
            st.warning(f"No face was found in “{name}”. Faces need to be reasonably frontal, lit and "
                       "not tiny: for small faces in a large photo try the blazeface-tiled detector, "
                       "or lower the detection threshold in the sidebar.")
            continue
        st.download_button("Download annotated PNG", annotated_png(photo, result, show_bars),
                           file_name=f"{PurePath(name).stem}_annotated.png", mime="image/png",
                           on_click="ignore", key=f"png-{index}")
        # several photos: their cards folded away, so the page stays short (on a phone above all)
        with st.expander(f"Face cards ({len(faces)})", expanded=len(photos) == 1):
            show_cards(analysed, index)

# keep only what belongs to photos still shown: the caches must not grow for the whole session
current = {photo.digest for photo in photos}
faces_cache = st.session_state.get(FACES_KEY, {})
for stale in [key for key in faces_cache if key[0] not in current]:
    del faces_cache[stale]
display_cache = st.session_state.get(DISPLAY_KEY, {})
for stale in [key for key in display_cache if key not in current]:
    del display_cache[stale]

rows = photo_rows(results)
if rows:
    st.subheader("All results")
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        [{key: row[key] for key in PHOTO_COLUMNS} for row in rows], hide_index=True,
        column_config={"confidence": percent, "detection_score": st.column_config.NumberColumn(format="%.2f"),
                       **{emotion: percent for emotion in EMOTIONS}},
    )
    left, right = st.columns(2)
    left.download_button("Download results (CSV)", to_csv(rows, PHOTO_COLUMNS), file_name="expressions.csv",
                         mime="text/csv", on_click="ignore", key="csv")
    right.download_button("Download results (JSON)", photo_json(results, asdict(settings)),
                          file_name="expressions.json", mime="application/json", on_click="ignore", key="json")
