"""The sidebar settings every page shares, kept in `st.session_state` across pages.

Pages call `settings = sidebar_settings()` at the top; it draws the controls and returns a
frozen `Settings` snapshot that can be handed to other threads (the webcam callback)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from fer_core.classifier import ModelNotFoundError
from fer_core.detection import DEFAULT_DETECTOR, DETECTOR_DESCRIPTIONS, DETECTOR_NAMES
from fer_core.model_zoo import MAX_DEFAULT_MS_PER_FACE, default_flip_tta, default_model_name, list_models

DEFAULT_SMOOTHING = 0.6


@dataclass(frozen=True)
class Settings:
    model: str
    detector: str
    min_score: float | None  # None: the detector's own threshold
    smoothing: float
    flip_tta: bool
    runtime: str = "float"


# session_state keys: one place, so pages never disagree on a name
MODEL, DETECTOR, MIN_SCORE, SMOOTHING, FLIP_TTA, RUNTIME = (
    "fer_model", "fer_detector", "fer_min_score", "fer_smoothing", "fer_flip_tta", "fer_runtime")


def _persist(key: str, default: object) -> None:
    # Streamlit drops widget state when a page without that widget runs; copying the value into
    # a plain key (and back into the widget key) keeps settings across pages.
    if key not in st.session_state:
        st.session_state[key] = default
    st.session_state["_w_" + key] = st.session_state[key]


def _store(key: str) -> None:
    st.session_state[key] = st.session_state["_w_" + key]


def _detector_threshold(name: str) -> float:
    """The detector's own confidence threshold (from the cached detector the pages use)."""
    from ui.resources import get_detector  # resources imports Settings from here

    return round(float(get_detector(name).min_score), 2)


def _on_detector_change() -> None:
    _store(DETECTOR)
    st.session_state[MIN_SCORE] = None  # the new detector starts at its own threshold


def _store_threshold() -> None:
    value = float(st.session_state["_w_" + MIN_SCORE])
    own = _detector_threshold(st.session_state[DETECTOR])
    st.session_state[MIN_SCORE] = None if abs(value - own) < 1e-6 else value


def _model_order(models: list, default_model: str) -> list[str]:
    """The default first, then by stored PublicTest agreement with people (or FER2013 accuracy),
    models without metrics last: the order a visitor would try them in."""
    def score(m: Any) -> float:
        x = m.readable_metrics()
        fp = x.get("ferplus", {}) if isinstance(x.get("ferplus"), dict) else {}
        value = fp.get("publictest_accuracy", x.get("publictest_accuracy"))
        return float(value) if isinstance(value, (int, float)) else -1.0

    rest = sorted((m for m in models if m.name != default_model), key=lambda m: (-score(m), m.name))
    return [default_model, *[m.name for m in rest]]


def sidebar_settings() -> Settings:
    """Draw the shared settings in the sidebar; stop the page with a clear message when no
    model is installed. Only draws: server start-up work (the session reaper) is
    ui.startup.app_startup(), which app.py and every page call."""
    try:
        models = list_models()
        default_model = default_model_name()
    except ModelNotFoundError as exc:
        st.error(f"The emotion models cannot be loaded. {exc}")
        st.stop()
    names = _model_order(models, default_model) if default_model in {m.name for m in models} else [m.name for m in models]
    _persist(MODEL, default_model)
    _persist(DETECTOR, DEFAULT_DETECTOR)
    _persist(MIN_SCORE, None)  # None: the detector's own threshold
    _persist(SMOOTHING, DEFAULT_SMOOTHING)
    _persist(FLIP_TTA, default_flip_tta())  # select-default decided it on PublicTest
    _persist(RUNTIME, "float")
    if st.session_state[MODEL] not in names:
        st.session_state[MODEL] = st.session_state["_w_" + MODEL] = default_model
    sb = st.sidebar
    sb.header("Settings")
    sb.selectbox("Emotion model", names, key="_w_" + MODEL, on_change=_store, args=(MODEL,),
                 format_func=lambda n: f"{n} (default)" if n == default_model else n,
                 help="The default agrees most with people at webcam speed; the Model comparison page "
                      "says what each of the others is for.")
    sb.selectbox("Face detector", DETECTOR_NAMES, key="_w_" + DETECTOR, on_change=_on_detector_change,
                 help=DETECTOR_DESCRIPTIONS.get(st.session_state[DETECTOR], ""))
    own = _detector_threshold(st.session_state[DETECTOR])
    chosen = st.session_state[MIN_SCORE]
    st.session_state["_w_" + MIN_SCORE] = own if chosen is None else float(chosen)
    sb.slider("Detection threshold", 0.0 if own == 0.0 else 0.05, 0.95, step=0.01, key="_w_" + MIN_SCORE,
              on_change=_store_threshold,
              help=f"How sure the detector must be that it sees a face. Its own setting is {own:.2f}; "
                   "higher finds fewer false faces and misses more real ones.")
    sb.slider("Smoothing (webcam and video)", 0.0, 0.95, step=0.05, key="_w_" + SMOOTHING, on_change=_store,
              args=(SMOOTHING,), help="How much each face's label keeps from earlier frames (0: none).")
    sb.toggle("Flip test-time augmentation", key="_w_" + FLIP_TTA, on_change=_store, args=(FLIP_TTA,),
              help="Also classify the mirrored face and average: a little more accurate, twice the work. "
                   "On by default when it scored higher on PublicTest for the default model and keeps it "
                   f"within {MAX_DEFAULT_MS_PER_FACE:g} ms per face.")
    selected = models[names.index(st.session_state[MODEL])]
    runtimes = ["float"] + (["int8"] if selected.has_runtime("int8") and not selected.is_ensemble else [])
    if st.session_state[RUNTIME] not in runtimes:
        st.session_state[RUNTIME] = st.session_state["_w_" + RUNTIME] = "float"
    sb.radio("Runtime", runtimes, key="_w_" + RUNTIME, on_change=_store, args=(RUNTIME,), horizontal=True,
             # a blend of int8 files has one runtime, its members' quantized files: say so, not "float"
             format_func=lambda r: "int8 (its members' files)" if r == "float" and selected.member_runtime else r,
             help="int8: the dynamic-range quantized model, where it kept accuracy.")
    chosen = st.session_state[MIN_SCORE]
    return Settings(
        model=st.session_state[MODEL],
        detector=st.session_state[DETECTOR],
        min_score=None if chosen is None else float(chosen),
        smoothing=float(st.session_state[SMOOTHING]),
        flip_tta=bool(st.session_state[FLIP_TTA]),
        runtime=st.session_state[RUNTIME],
    )
