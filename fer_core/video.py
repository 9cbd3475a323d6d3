"""Annotate a video file: decode it with PyAV, track and label every face frame by frame, and
encode the annotated frames as an H.264 MP4, all in memory (nothing is written to disk).

    result = process_video(upload_bytes, analyzer, smoothing=0.6, on_progress=print)
    result.video          # MP4 bytes, plays in every browser
    result.frames         # one AnalysedFrame per analysed frame (time, tracked faces)
    times, probs = result.timeline(result.main_face_id())

`iter_process_video` is the same loop as a generator that yields a `Progress` per frame and
returns the `VideoResult`, for callers that drive their own progress display. The result keeps
the analysis (tracked faces, raw probabilities): `redraw_video(source, result, smoothing=0.3,
show_probabilities=True)` draws it again without detecting or classifying a second time.

Long or large videos are capped (`VideoLimits`): at most `max_seconds` from the start, at most
`max_fps` frames per second, downscaled to fit 1280x720 (720x1280 upright). Each cap that was
applied adds a plain-sentence note to the result, so the app can say what it did.
"""

from __future__ import annotations

import io
import math
import os
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, BinaryIO, Final

import av
import numpy as np

from fer_core.drawing import draw_faces
from fer_core.errors import FerError
from fer_core.image_io import read_source_bytes
from fer_core.labels import EMOTIONS
from fer_core.pipeline import FaceAnalyzer, FaceResult, StreamAnalyzer
from fer_core.tracking import ProbabilitySmoother, check_smoothing

MAX_SECONDS: Final[float] = 60.0
MAX_FPS: Final[float] = 30.0
MAX_LONG_SIDE: Final[int] = 1280  # 720p: 1280x720 landscape, 720x1280 portrait
MAX_SHORT_SIDE: Final[int] = 720
FALLBACK_FPS: Final[float] = 25.0  # when a file states no frame rate at all

# PyAV container format names we accept (the uploader offers mp4, mov, webm, avi, mkv).
ALLOWED_CONTAINERS: Final[tuple[str, ...]] = ("mov", "mp4", "matroska", "webm", "avi")
ALLOWED_TEXT: Final[str] = "MP4, MOV, WebM, AVI or MKV"

VideoSource = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


class VideoLoadError(FerError, ValueError):
    """The input could not be read as a video; the message is meant for end users."""


@dataclass(frozen=True)
class VideoLimits:
    max_seconds: float = MAX_SECONDS
    max_fps: float = MAX_FPS
    max_long_side: int = MAX_LONG_SIDE
    max_short_side: int = MAX_SHORT_SIDE

    def __post_init__(self) -> None:
        if not (self.max_seconds > 0 and self.max_fps > 0):
            raise ValueError("max_seconds and max_fps must be positive")
        if self.max_long_side < 2 or self.max_short_side < 2:
            raise ValueError("max_long_side and max_short_side must be at least 2 pixels")


@dataclass(frozen=True)
class Progress:
    frames_done: int
    frames_expected: int | None  # None when the file does not say how long it is
    seconds_done: float

    @property
    def fraction(self) -> float:
        """Share done in [0, 1]; 0 while the length is unknown."""
        if not self.frames_expected:
            return 0.0
        return min(1.0, self.frames_done / self.frames_expected)


@dataclass(frozen=True)
class AnalysedFrame:
    """One frame of an uploaded video after analysis: every face in it, tracked and smoothed."""

    index: int  # position in the annotated video
    time_s: float  # its time in the annotated video
    faces: tuple[FaceResult, ...]  # tracked ids, smoothed probabilities


@dataclass
class VideoResult:
    video: bytes  # H.264 MP4
    frames: list[AnalysedFrame]
    fps: float
    width: int
    height: int
    source_width: int
    source_height: int
    source_seconds: float | None
    notes: list[str] = field(default_factory=list)  # which limits applied, in plain sentences
    mime: str = "video/mp4"
    smoothing: float = 0.0  # what `frames` and the video were drawn with
    show_probabilities: bool = False
    limits: VideoLimits = VideoLimits()
    display_width: int | None = None
    # the same frames tracked but not smoothed: what a redraw at another smoothing starts from
    raw_frames: list[AnalysedFrame] = field(default_factory=list, repr=False)

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.fps if self.fps > 0 else 0.0

    def face_ids(self) -> list[int]:
        return sorted({face.face_id for record in self.frames for face in record.faces})

    def main_face_id(self) -> int | None:
        return main_face_id(self.frames)

    def timeline(self, face_id: int | None) -> tuple[np.ndarray, np.ndarray]:
        return timeline(self.frames, face_id)


# --- the processing loop -------------------------------------------------------------------


def process_video(source: VideoSource, analyzer: FaceAnalyzer, *,
                  on_progress: Callable[[Progress], None] | None = None, **options: Any) -> VideoResult:
    """Analyse and annotate a whole video, calling `on_progress` after each frame. `options`
    are `iter_process_video`'s (smoothing, limits, show_probabilities, name): one signature,
    so the two cannot drift apart."""
    return _drive(iter_process_video(source, analyzer, **options), on_progress)


def redraw_video(source: VideoSource, result: VideoResult, *,
                 on_progress: Callable[[Progress], None] | None = None, **options: Any) -> VideoResult:
    """`result` drawn again at another smoothing or with(out) probability bars, from the same
    source, without detecting or classifying again. `options` are `iter_redraw_video`'s."""
    return _drive(iter_redraw_video(source, result, **options), on_progress)


def _drive(steps: Generator[Progress, None, VideoResult],
           on_progress: Callable[[Progress], None] | None) -> VideoResult:
    try:
        while True:
            try:
                progress = next(steps)
            except StopIteration as done:
                return done.value
            if on_progress is not None:
                on_progress(progress)
    finally:
        steps.close()  # a callback that raises (a Streamlit rerun) still closes the files now


def iter_process_video(
    source: VideoSource,
    analyzer: FaceAnalyzer,
    *,
    smoothing: float = 0.6,
    limits: VideoLimits = VideoLimits(),
    show_probabilities: bool = False,
    name: str | None = None,
    display_width: int | None = None,
) -> Generator[Progress, None, VideoResult]:
    """Yield a `Progress` after each analysed frame; return the `VideoResult`. `display_width`:
    how wide the video will be shown, so that its labels stay legible there (drawing).

    `source` is encoded file bytes, a binary file-like object (a Streamlit upload) or a path.
    Raises `VideoLoadError` when nothing could be decoded; damage after the first frames ends
    the analysis early with a note instead."""
    # tracked without smoothing, smoothed on the side: the result keeps the raw analysis, so
    # another smoothing is a redraw (iter_redraw_video), not a new analysis
    tracker = StreamAnalyzer(analyzer, smoothing=0.0)
    raw: list[AnalysedFrame] = []

    def faces_of(index: int, rgb: np.ndarray) -> tuple[FaceResult, ...] | None:
        raw.append(AnalysedFrame(index, 0.0, tuple(tracker.update(rgb))))
        return raw[-1].faces

    result = yield from _annotate(source, name, limits, faces_of, check_smoothing(smoothing), show_probabilities,
                                  display_width)
    result.raw_frames = [replace(r, time_s=f.time_s) for r, f in zip(raw, result.frames)]
    return result


def iter_redraw_video(
    source: VideoSource,
    result: VideoResult,
    *,
    smoothing: float | None = None,
    show_probabilities: bool | None = None,
    name: str | None = None,
) -> Generator[Progress, None, VideoResult]:
    """`iter_process_video` for a video analysed before: the same source, decoded again with the
    same limits, each frame drawn with the stored faces (re-smoothed when `smoothing` differs).
    None keeps the result's setting."""
    raw = result.raw_frames

    def faces_of(index: int, _rgb: np.ndarray) -> tuple[FaceResult, ...] | None:
        return raw[index].faces if index < len(raw) else None  # None: every analysed frame is drawn

    redrawn = yield from _annotate(
        source, name, result.limits, faces_of,
        result.smoothing if smoothing is None else check_smoothing(smoothing),
        result.show_probabilities if show_probabilities is None else show_probabilities,
        result.display_width)
    redrawn.raw_frames = raw
    return redrawn


def smooth_frames(frames: Sequence[AnalysedFrame], smoothing: float) -> list[AnalysedFrame]:
    """Tracked frames with raw probabilities -> the same frames smoothed as the tracker would."""
    smoother = ProbabilitySmoother(smoothing)
    return [replace(f, faces=_smoothed(smoother, f.faces)) for f in frames]


def _smoothed(smoother: ProbabilitySmoother, faces: Sequence[FaceResult]) -> tuple[FaceResult, ...]:
    probs = smoother.apply([f.face_id for f in faces], [f.probabilities for f in faces])
    return tuple(replace(f, probabilities=p) for f, p in zip(faces, probs))


FacesOf = Callable[[int, np.ndarray], "tuple[FaceResult, ...] | None"]


def _annotate(source: VideoSource, name: str | None, limits: VideoLimits, faces_of: FacesOf, smoothing: float,
              show_probabilities: bool, display_width: int | None) -> Generator[Progress, None, VideoResult]:
    """The one decode -> faces -> draw -> encode loop. `faces_of(index, rgb)` gives each kept
    frame's tracked raw faces (None ends the loop); they are smoothed here and drawn."""
    fp, label = _open_source(source, name)
    container = _open_container(fp, label)
    smoother = ProbabilitySmoother(smoothing)
    try:
        stream = _video_stream(container, label)
        src_fps = _stream_fps(stream)
        out_fps = min(src_fps, limits.max_fps)
        rate = Fraction(out_fps).limit_denominator(1001)
        out_fps = float(rate)
        duration = _duration(container, stream)
        expected = None if duration is None else max(1, math.ceil(min(duration, limits.max_seconds) * out_fps))
        notes: list[str] = []
        if len(container.streams.audio):
            notes.append("The annotated video has no sound: only the picture is analysed and kept.")
        if src_fps > limits.max_fps + 0.01:
            notes.append(f"The video runs at {src_fps:.0f} frames per second; every frame up to "
                         f"{out_fps:.0f} per second was analysed.")

        out_buffer = io.BytesIO()
        output = av.open(out_buffer, mode="w", format="mp4")
        out_stream = None
        frames: list[AnalysedFrame] = []
        geometry: _Geometry | None = None
        first_time: float | None = None
        last_slot = -1
        truncated = damaged = False
        try:
            for frame in _decode(container, stream):
                if isinstance(frame, _DecodeFailure):
                    damaged = True
                    break
                time_s = _frame_time(frame, len(frames), src_fps)
                if first_time is None:
                    first_time = time_s
                elapsed = time_s - first_time
                if elapsed >= limits.max_seconds:
                    truncated = True
                    break
                if src_fps > limits.max_fps:  # keep at most one frame per output slot
                    slot = int(elapsed * out_fps + 1e-6)
                    if slot <= last_slot:
                        continue
                    last_slot = slot
                if geometry is None:
                    geometry = _Geometry.for_frame(frame, limits)
                    out_stream = _add_h264_stream(output, rate, geometry.width, geometry.height)
                rgb = geometry.to_rgb(frame)
                raw = faces_of(len(frames), rgb)
                if raw is None:
                    break
                faces = _smoothed(smoother, raw)
                # the decoded array is ours: draw into it rather than into a copy
                annotated = draw_faces(rgb, faces, show_probabilities=show_probabilities, in_place=True,
                                       display_width=display_width)
                out_frame = av.VideoFrame.from_ndarray(annotated, format="rgb24")
                out_frame.pts = len(frames)
                assert out_stream is not None  # made with the first frame's geometry above
                for packet in out_stream.encode(out_frame):
                    output.mux(packet)
                frames.append(AnalysedFrame(len(frames), len(frames) / out_fps, faces))
                yield Progress(len(frames), expected, len(frames) / out_fps)
            if out_stream is not None:
                for packet in out_stream.encode():  # flush the encoder
                    output.mux(packet)
        finally:
            output.close()
    finally:
        container.close()

    if not frames or geometry is None:
        raise VideoLoadError(f"{label} contains no video frames that could be decoded; "
                             f"it may be damaged or use a codec we cannot read.")
    if geometry.downscaled:
        notes.append(f"The video is {geometry.source_width}x{geometry.source_height} pixels; it was "
                     f"analysed at {geometry.width}x{geometry.height} (at most "
                     f"{limits.max_long_side}x{limits.max_short_side}).")
    if truncated:
        total = f" of {duration:.0f} s" if duration else ""
        notes.append(f"Only the first {limits.max_seconds:.0f} s{total} were analysed.")
    if damaged:
        notes.append(f"The video is damaged after {len(frames) / out_fps:.1f} s; the part before it "
                     f"was analysed.")
    return VideoResult(
        video=out_buffer.getvalue(), frames=frames, fps=out_fps, width=geometry.width,
        height=geometry.height, source_width=geometry.source_width,
        source_height=geometry.source_height, source_seconds=duration, notes=notes,
        smoothing=smoothing, show_probabilities=show_probabilities, limits=limits, display_width=display_width,
    )


# --- timeline ------------------------------------------------------------------------------


def main_face_id(frames: Sequence[AnalysedFrame]) -> int | None:
    """The face seen in the most frames (ties: the larger one on average); None if no face."""
    seen: Counter[int] = Counter()
    area: Counter[int] = Counter()
    for record in frames:
        for face in record.faces:
            seen[face.face_id] += 1
            area[face.face_id] += face.box[2] * face.box[3]
    if not seen:
        return None
    return max(seen, key=lambda fid: (seen[fid], area[fid] / seen[fid], -fid))


def timeline(frames: Sequence[AnalysedFrame], face_id: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(times (N,), probabilities (N, 7)) of one face over all frames; NaN rows where it is
    not in the frame, so charts show gaps rather than invented values."""
    times = np.array([record.time_s for record in frames], dtype=np.float64)
    probs = np.full((len(frames), len(EMOTIONS)), np.nan, dtype=np.float64)
    if face_id is not None:
        for i, record in enumerate(frames):
            for face in record.faces:
                if face.face_id == face_id:
                    probs[i] = face.probabilities
                    break
    return times, probs


# --- internals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geometry:
    """How each decoded frame becomes an upright RGB array of the output size."""

    rotation: int  # quarter turns counterclockwise to show the frame upright
    width: int  # output (upright), even for yuv420p
    height: int
    source_width: int  # upright
    source_height: int

    @property
    def downscaled(self) -> bool:
        return (self.width, self.height) != (self.source_width, self.source_height)

    @classmethod
    def for_frame(cls, frame: av.VideoFrame, limits: VideoLimits) -> _Geometry:
        turns = _quarter_turns(getattr(frame, "rotation", 0))
        width, height = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
        out_w, out_h = fit_size(width, height, limits.max_long_side, limits.max_short_side)
        return cls(turns, out_w, out_h, width, height)

    def to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        # scale in the decoder's orientation (swscale is fast), then turn upright
        w, h = (self.height, self.width) if self.rotation % 2 else (self.width, self.height)
        rgb = frame.to_ndarray(width=w, height=h, format="rgb24")
        if self.rotation:
            rgb = np.rot90(rgb, self.rotation)
        return np.ascontiguousarray(rgb)


def fit_size(width: int, height: int, max_long: int, max_short: int) -> tuple[int, int]:
    """The largest even size with the same aspect ratio that fits max_long x max_short (either
    orientation), never upscaled. Even sides because H.264's yuv420p needs them."""
    long_side, short_side = max(width, height), min(width, height)
    scale = min(1.0, max_long / long_side, max_short / short_side)
    out_w = max(2, int(round(width * scale)) // 2 * 2)
    out_h = max(2, int(round(height * scale)) // 2 * 2)
    return out_w, out_h


def _quarter_turns(rotation: float | None) -> int:
    """PyAV reports the display rotation counterclockwise in degrees; np.rot90 turns
    counterclockwise too."""
    if not rotation or not math.isfinite(rotation):
        return 0
    return int(round(rotation / 90.0)) % 4


class _DecodeFailure:
    """Marks a decoding error after some frames (a damaged tail)."""


def _decode(container: av.container.InputContainer,
            stream: av.VideoStream) -> Iterator[av.VideoFrame | _DecodeFailure]:
    try:
        yield from container.decode(stream)
    except (av.FFmpegError, ValueError, OSError):
        yield _DecodeFailure()


def _open_source(source: VideoSource, name: str | None) -> tuple[BinaryIO | str, str]:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        label = _subject(name or os.path.basename(path) or path)
        if not os.path.isfile(path):
            raise VideoLoadError(f"There is no video file at {path}.")
        if os.path.getsize(path) == 0:
            raise VideoLoadError(f"{label} is empty (0 bytes), so there is no video to read.")
        return path, label
    data, default_name = read_source_bytes(source, what="video")
    label = _subject(name or default_name)
    if not data:
        raise VideoLoadError(f"{label} is empty (0 bytes), so there is no video to read.")
    return io.BytesIO(data), label


def _open_container(fp: BinaryIO | str, label: str) -> av.container.InputContainer:
    unreadable = (f"{label} could not be read as a video: it is damaged or not a video file. "
                  f"Upload {ALLOWED_TEXT}.")
    try:
        container = av.open(fp, mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
        raise VideoLoadError(unreadable) from exc
    format_names = set((container.format.name or "").split(","))
    if not format_names & set(ALLOWED_CONTAINERS):
        kind = container.format.long_name or container.format.name or "unknown"
        container.close()
        raise VideoLoadError(f"{label} is a {kind} file; upload {ALLOWED_TEXT}.")
    return container


def _video_stream(container: av.container.InputContainer, label: str) -> av.VideoStream:
    if not container.streams.video:
        raise VideoLoadError(f"{label} has no video track (is it an audio file?).")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # decode with frame threads: most of the cost for big videos
    return stream


def _stream_fps(stream: av.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= 1000:
            return float(rate)
    return FALLBACK_FPS


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / av.time_base
    else:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _frame_time(frame: av.VideoFrame, index: int, fps: float) -> float:
    time = frame.time
    return float(time) if time is not None and math.isfinite(time) else index / fps


def _add_h264_stream(output: av.container.OutputContainer, rate: Fraction, width: int,
                     height: int) -> av.VideoStream:
    # veryfast/crf 23: about real time for 720p on two cores at a size fit for downloading
    stream = output.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": "23"})
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = Fraction(1) / rate
    return stream


def _subject(name: str | None) -> str:
    """How messages name the file: quoted as the user named it (never re-capitalised)."""
    return f"“{name}”" if name else "This file"
