"""Models and detectors, loaded once per process and shared by every session and page."""

from __future__ import annotations

import os

import streamlit as st

from fer_core.classifier import EmotionClassifier
from fer_core.detection import FaceDetector, create_detector
from fer_core.live.capacity import StreamActivity
from fer_core.live.gate import AnalysisGate, slots_from_env
from fer_core.model_zoo import ModelInfo, list_models, load_model
from fer_core.pipeline import FaceAnalyzer
from ui.settings import Settings


# bounded: a visitor clicking through every model and runtime must not keep them all in memory
@st.cache_resource(show_spinner="Loading the emotion model…", max_entries=6)
def get_classifier(name: str, runtime: str = "float", flip_tta: bool = False) -> EmotionClassifier:
    return load_model(name, runtime=runtime, flip_tta=flip_tta)


@st.cache_resource(show_spinner="Loading the face detector…", max_entries=4)
def get_detector(name: str, min_score: float | None = None) -> FaceDetector:
    return create_detector(name, min_score=min_score)


def get_analyzer(settings: Settings) -> FaceAnalyzer:
    """A FaceAnalyzer for the current settings (cheap: it only holds the cached models)."""
    return FaceAnalyzer(
        get_detector(settings.detector, settings.min_score),
        get_classifier(settings.model, settings.runtime, settings.flip_tta),
    )


@st.cache_resource
def stream_activity() -> StreamActivity:
    """One per server process: which live streams delivered frames lately (fer_core.live.capacity)."""
    return StreamActivity()


@st.cache_resource
def analysis_gate() -> AnalysisGate:
    """One per server process: every live stream takes turns at it (FER_ANALYSIS_SLOTS)."""
    return AnalysisGate(slots_from_env(os.environ))


@st.cache_data(ttl=60)
def installed_models() -> list[ModelInfo]:
    return list_models()
