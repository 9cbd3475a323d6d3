"""fer_core.video on short clips made here from scikit-image's astronaut with PyAV: decoding,
tracking, drawing, H.264 encoding in memory, the length/size/frame-rate caps, the timeline and
clear errors for files that are not (whole) videos."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from fer_core.drawing import emotion_color, format_label, label_layout
from fer_core.labels import EMOTIONS
from fer_core.pipeline import FaceResult
from fer_core.video import (
    AnalysedFrame,
    Progress,
    VideoLimits,
    VideoLoadError,
    fit_size,
    iter_process_video,
    main_face_id,
    process_video,
    redraw_video,
    timeline,
)
from fer_core.video import _quarter_turns as quarter_turns

FRAMES, FPS = 12, 6


def make_clip(image: np.ndarray, *, frames: int = FRAMES, fps: int = FPS, container: str = "mp4",
              codec: str = "libx264", shift: int = 3) -> bytes:
    """`frames` frames of `image`, panning `shift` pixels per frame, encoded in memory."""
    height, width = image.shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.roll(image, i * shift, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def decode(video: bytes) -> tuple[str, list[np.ndarray]]:
    with av.open(io.BytesIO(video)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, [f.to_ndarray(format="rgb24") for f in container.decode(stream)]


@pytest.fixture(scope="module")
def clip(astronaut) -> bytes:
    return make_clip(astronaut)


def test_every_frame_is_analysed_tracked_and_drawn_into_an_h264_mp4(analyzer, astronaut, clip):
    progress: list[Progress] = []
    result = process_video(clip, analyzer, smoothing=0.6, on_progress=progress.append)

    assert len(result.frames) == FRAMES
    assert (result.width, result.height) == (512, 512) and result.fps == FPS
    assert result.notes == []
    assert [len(record.faces) for record in result.frames] == [1] * FRAMES
    assert {record.faces[0].face_id for record in result.frames} == {1}  # one track all along
    for record in result.frames:
        assert record.faces[0].probabilities.sum() == pytest.approx(1.0, abs=1e-3)
    assert [r.time_s for r in result.frames] == pytest.approx([i / FPS for i in range(FRAMES)])
    assert [p.frames_done for p in progress] == list(range(1, FRAMES + 1))
    assert progress[-1].fraction == pytest.approx(1.0)

    codec, frames = decode(result.video)
    assert codec == "h264" and len(frames) == FRAMES
    # the label tag above the face is filled with the face's emotion colour in the output video
    face = result.frames[0].faces[0]
    x0, y0, x1, y1 = label_layout(frames[0].shape, face.box, format_label(face)).rect
    tag = frames[0][y0:y1, x0:x1].reshape(-1, 3)
    source_tag = astronaut[y0:y1, x0:x1].reshape(-1, 3)
    colour = np.array(emotion_color(face.emotion))
    assert np.median(np.abs(tag.astype(int) - colour), axis=0).max() < 40
    assert np.median(np.abs(source_tag.astype(int) - colour), axis=0).max() > 40  # not there before


def test_smoothing_zero_gives_the_raw_per_frame_probabilities(analyzer, clip):
    raw = process_video(clip, analyzer, smoothing=0.0)
    smooth = process_video(clip, analyzer, smoothing=0.9)
    first_raw, first_smooth = raw.frames[0].faces[0], smooth.frames[0].faces[0]
    np.testing.assert_allclose(first_raw.probabilities, first_smooth.probabilities, atol=1e-5)  # no history yet
    later = [np.abs(a.faces[0].probabilities - b.faces[0].probabilities).max()
             for a, b in zip(raw.frames[1:], smooth.frames[1:])]
    assert max(later) > 0  # history changes later frames


def test_length_frame_rate_and_size_are_capped_with_notes(analyzer, astronaut):
    clip = make_clip(astronaut, frames=18)  # 3 s at 6 fps, 512x512
    limits = VideoLimits(max_seconds=1.0, max_fps=3, max_long_side=200, max_short_side=100)
    result = process_video(clip, analyzer, limits=limits)

    assert result.fps == 3 and len(result.frames) == 3  # 1 s at 3 fps
    assert (result.width, result.height) == (100, 100)
    assert (result.source_width, result.source_height) == (512, 512)
    notes = " ".join(result.notes)
    assert "first 1 s" in notes and "3 per second" in notes and "100x100" in notes
    _codec, frames = decode(result.video)
    assert len(frames) == 3 and frames[0].shape == (100, 100, 3)


def test_generator_reports_expected_frame_count_and_returns_the_result(analyzer, clip):
    steps = iter_process_video(clip, analyzer)
    seen = []
    with pytest.raises(StopIteration) as done:
        while True:
            seen.append(next(steps))
    assert all(p.frames_expected == FRAMES for p in seen)
    assert len(done.value.value.frames) == FRAMES


def test_webm_file_like_and_path_sources(analyzer, astronaut, tmp_path):
    webm = make_clip(astronaut, frames=4, container="webm", codec="libvpx-vp9")
    upload = io.BytesIO(webm)
    upload.name = "clip.webm"
    assert len(process_video(upload, analyzer).frames) == 4
    path = tmp_path / "clip.mp4"
    path.write_bytes(make_clip(astronaut, frames=4))
    assert len(process_video(path, analyzer).frames) == 4


def test_a_face_free_video_has_frames_but_no_faces(analyzer):
    result = process_video(make_clip(np.full((240, 320, 3), 90, np.uint8), frames=4), analyzer)
    assert len(result.frames) == 4 and all(not r.faces for r in result.frames)
    assert result.main_face_id() is None
    times, probs = result.timeline(None)
    assert times.shape == (4,) and np.isnan(probs).all()


@pytest.mark.parametrize("data, expected", [
    (b"", "empty"),
    (b"this is not a video at all" * 50, "could not be read as a video"),
])
def test_unreadable_inputs_raise_a_clear_error(analyzer, data, expected):
    with pytest.raises(VideoLoadError, match=expected):
        process_video(data, analyzer, name="upload.mp4")


def test_truncated_mp4_and_images_are_refused_clearly(analyzer, astronaut, clip):
    with pytest.raises(VideoLoadError, match="“cut.mp4”"):
        process_video(clip[: len(clip) // 2], analyzer, name="cut.mp4")  # MP4 index is at the end
    from fer_core.image_io import encode_png

    with pytest.raises(VideoLoadError, match="upload MP4, MOV, WebM, AVI or MKV"):
        process_video(encode_png(astronaut), analyzer, name="photo.png")


def test_audio_only_file_says_it_has_no_video(analyzer):
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = output.add_stream("aac", rate=16000)
        samples = np.zeros((1, 1024), np.float32)
        for i in range(5):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    with pytest.raises(VideoLoadError, match="no video track"):
        process_video(buffer.getvalue(), analyzer, name="sound.mp4")


def test_damaged_tail_of_a_matroska_file_keeps_the_frames_before_it(analyzer):
    # Matroska stores frames in order without an index at the end, so a cut file still has a
    # readable start (unlike MP4 above). Noise frames: faces do not matter here.
    noise = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    mkv = make_clip(noise, frames=48, container="matroska")
    result = process_video(mkv[: int(len(mkv) * 0.7)], analyzer)
    assert 1 <= len(result.frames) < 48
    assert len(decode(result.video)[1]) == len(result.frames)  # what was analysed still plays


def _face(face_id: int, box: tuple[int, int, int, int], top: int) -> FaceResult:
    probs = np.full(len(EMOTIONS), 0.05)
    probs[top] = 0.7
    return FaceResult(face_id, box, 0.9, probs)


def test_main_face_is_the_one_seen_most_and_timeline_has_gaps():
    frames = [
        AnalysedFrame(0, 0.0, (_face(1, (0, 0, 10, 10), 3), _face(2, (50, 0, 40, 40), 0))),
        AnalysedFrame(1, 0.5, (_face(1, (0, 0, 10, 10), 3),)),
        AnalysedFrame(2, 1.0, ()),
        AnalysedFrame(3, 1.5, (_face(1, (0, 0, 10, 10), 4),)),
    ]
    assert main_face_id(frames) == 1  # in 3 frames, though face 2 is bigger
    times, probs = timeline(frames, 1)
    assert times.tolist() == [0.0, 0.5, 1.0, 1.5]
    assert probs.shape == (4, len(EMOTIONS))
    assert np.isnan(probs[2]).all() and not np.isnan(probs[[0, 1, 3]]).any()
    assert probs[3].argmax() == 4
    # a tie in frame count goes to the larger face
    assert main_face_id(frames[:1]) == 2
    assert main_face_id([]) is None


@pytest.mark.parametrize("size, limits, expected", [
    ((1920, 1080), (1280, 720), (1280, 720)),
    ((1080, 1920), (1280, 720), (720, 1280)),  # portrait keeps its orientation
    ((640, 480), (1280, 720), (640, 480)),  # never upscaled
    ((3840, 1600), (1280, 720), (1280, 532)),  # wide: the long side decides; sides even
    ((641, 361), (1280, 720), (640, 360)),  # odd sizes rounded to even for yuv420p
])
def test_fit_size(size, limits, expected):
    assert fit_size(*size, *limits) == expected


def test_phone_video_with_display_rotation_is_analysed_upright(analyzer, astronaut):
    upright = np.ascontiguousarray(astronaut[:, :384])  # 512 high, 384 wide
    stored = np.ascontiguousarray(np.rot90(upright, -1))  # as phones store it: turned clockwise
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = stored.shape[1], stored.shape[0], "yuv420p"
        stream.set_display_rotation(90)  # "show me turned back counterclockwise"
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    result = process_video(buffer.getvalue(), analyzer)
    assert (result.width, result.height) == (384, 512)
    expected = analyzer.analyze(upright)[0].box
    assert all(len(r.faces) == 1 for r in result.frames)
    assert np.abs(np.subtract(result.frames[0].faces[0].box, expected)).max() <= 8


def test_display_rotation_in_quarter_turns():
    assert [quarter_turns(r) for r in (0, 90, -90, 180, -180, None)] == [0, 1, 3, 2, 2, 0]


def test_limits_are_validated():
    with pytest.raises(ValueError):
        VideoLimits(max_seconds=0)
    with pytest.raises(ValueError):
        VideoLimits(max_long_side=1)


def test_a_video_with_a_sound_track_is_analysed_and_the_sound_left_out(analyzer, astronaut):
    """Phone videos carry audio: its packets are skipped, every video frame is analysed."""
    small = astronaut[::2, ::2].copy()
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        video = output.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = small.shape[1], small.shape[0], "yuv420p"
        audio = output.add_stream("aac", rate=16000)
        for i in range(6):
            for packet in video.encode(av.VideoFrame.from_ndarray(small, format="rgb24")):
                output.mux(packet)
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            sound.sample_rate, sound.pts = 16000, i * 1024
            for packet in audio.encode(sound):
                output.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                output.mux(packet)
    result = process_video(buffer.getvalue(), analyzer, name="with_sound.mp4")
    assert len(result.frames) == 6 and all(len(r.faces) == 1 for r in result.frames)
    with av.open(io.BytesIO(result.video)) as annotated:
        assert len(annotated.streams.video) == 1 and not annotated.streams.audio


def test_a_video_track_without_frames_is_a_clear_error(analyzer):
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:  # a header and no frame
        stream = output.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    with pytest.raises(VideoLoadError, match="“empty.mp4”"):
        process_video(buffer.getvalue(), analyzer, name="empty.mp4")


def test_a_redraw_keeps_the_analysis_and_matches_a_fresh_run(analyzer, clip, monkeypatch):
    first = process_video(clip, analyzer, smoothing=0.0)
    fresh = process_video(clip, analyzer, smoothing=0.9, show_probabilities=True)
    calls = []
    monkeypatch.setattr(type(analyzer), "detect", lambda self, image: calls.append(1) or [])
    redrawn = redraw_video(clip, first, smoothing=0.9, show_probabilities=True)
    assert not calls  # drawn from the stored faces: no detection, no classification
    assert (redrawn.smoothing, redrawn.show_probabilities) == (0.9, True)
    assert len(redrawn.frames) == len(fresh.frames)
    for a, b in zip(redrawn.frames, fresh.frames):
        assert [f.face_id for f in a.faces] == [f.face_id for f in b.faces]
        for fa, fb in zip(a.faces, b.faces):
            np.testing.assert_allclose(fa.probabilities, fb.probabilities, atol=1e-6)
    _codec, frames = decode(redrawn.video)
    _codec, expected = decode(fresh.video)
    assert len(frames) == len(expected)
    assert np.abs(frames[3].astype(int) - expected[3]).mean() < 2  # the same picture, bars and all
    assert redrawn.raw_frames == first.raw_frames  # a later redraw starts from the same analysis
