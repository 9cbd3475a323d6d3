"""How a live stream spends its CPU, set per server process from the environment; each setting
is measured against its alternative by bench.capacity.live_profile (docs/capacity.md).

    FER_DETECT_EVERY       the face detector runs on every k-th analysed frame (default
                           DEFAULT_DETECT_EVERY; 1: every frame); the frames between classify the
                           faces where they were last found (fer_core.pipeline.StreamAnalyzer)
    FER_LIVE_FRAME_FORMAT  the pixel format of the annotated frames handed to the encoder:
                           yuv420p (default, converted once: fer_core.live.frames) or rgb24
                           (the encoder converts it each time it sends it)
    FER_LIVE_PACING        analysed (default): the viewer gets each analysed frame once
                           (fer_core.live.track); camera: a frame back for every camera frame,
                           the last analysed one again in between (streamlit-webrtc's own track)
    FER_LIVE_CHARTS_EVERY  seconds between refreshes of the Live page's charts (default
                           DEFAULT_CHARTS_EVERY_S; the figures refresh every second): building and
                           sending two Plotly figures is Python work under the interpreter lock
                           every stream's video shares
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from fer_core.env_settings import whole_number
from fer_core.errors import ConfigError
from fer_core.live.frames import FRAME_FORMATS, FrameFormat

# the detector is most of the analysis; what skipping it does to the labels:
# bench.studies.detect_every (bench/results/detect_every.md), what it saves: bench.capacity.live_profile
DEFAULT_DETECT_EVERY = 3
DETECT_EVERY_ENV = "FER_DETECT_EVERY"
FRAME_FORMAT_ENV = "FER_LIVE_FRAME_FORMAT"
PACING_ENV = "FER_LIVE_PACING"
CHARTS_EVERY_ENV = "FER_LIVE_CHARTS_EVERY"
DEFAULT_CHARTS_EVERY_S = 3
Pacing = Literal["analysed", "camera"]
PACINGS: tuple[Pacing, ...] = ("analysed", "camera")


@dataclass(frozen=True)
class LiveTuning:
    detect_every: int = DEFAULT_DETECT_EVERY
    frame_format: FrameFormat = "yuv420p"
    pacing: Pacing = "analysed"
    charts_every_s: int = DEFAULT_CHARTS_EVERY_S

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ValueError(f"detect_every must be at least 1, got {self.detect_every}")
        if self.frame_format not in FRAME_FORMATS:
            raise ValueError(f"frame_format must be one of {', '.join(FRAME_FORMATS)}, got {self.frame_format!r}")
        if self.pacing not in PACINGS:
            raise ValueError(f"pacing must be one of {', '.join(PACINGS)}, got {self.pacing!r}")
        if self.charts_every_s < 1:
            raise ValueError(f"charts_every_s must be at least 1, got {self.charts_every_s}")


def tuning_from_env(environ: Mapping[str, str]) -> LiveTuning:
    """FER_DETECT_EVERY, FER_LIVE_FRAME_FORMAT, FER_LIVE_PACING and FER_LIVE_CHARTS_EVERY (unset:
    the defaults); anything else is a clear error naming the setting."""
    every = whole_number(DETECT_EVERY_ENV, environ.get(DETECT_EVERY_ENV), default=DEFAULT_DETECT_EVERY, minimum=1,
                         maximum=30, expected="a whole number from 1 (every frame) to 30")
    fmt = (environ.get(FRAME_FORMAT_ENV) or "").strip().lower() or "yuv420p"
    if fmt not in FRAME_FORMATS:
        raise ConfigError(f"{FRAME_FORMAT_ENV} must be one of {', '.join(FRAME_FORMATS)}, got {fmt!r}")
    pacing = (environ.get(PACING_ENV) or "").strip().lower() or "analysed"
    if pacing not in PACINGS:
        raise ConfigError(f"{PACING_ENV} must be one of {', '.join(PACINGS)}, got {pacing!r}")
    charts = whole_number(CHARTS_EVERY_ENV, environ.get(CHARTS_EVERY_ENV), default=DEFAULT_CHARTS_EVERY_S, minimum=1,
                          maximum=60, expected="a whole number of seconds from 1 to 60")
    return LiveTuning(detect_every=every, frame_format=fmt, pacing=pacing, charts_every_s=charts)


__all__ = ["DEFAULT_DETECT_EVERY", "LiveTuning", "tuning_from_env"]
