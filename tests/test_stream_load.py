"""fer_core.live.capacity: which live streams count as running, the frame rate a new stream asks
its camera for, and when a full server turns a new one away."""

from __future__ import annotations

import av
import numpy as np
import pytest

from fer_core.live.capacity import (
    ACTIVE_WITHIN_S,
    DEFAULT_MAX_STREAMS,
    FULL_FPS,
    FULL_RATE_STREAMS,
    REDUCED_FPS,
    StreamActivity,
    camera_fps,
    max_streams_from_env,
    may_start,
    video_constraints,
)


def test_streams_count_while_their_frames_keep_coming() -> None:
    clock = [0.0]
    activity = StreamActivity(clock=lambda: clock[0])
    activity.saw(1)
    activity.saw(2)
    assert activity.active() == 2
    assert activity.active(excluding=1) == 1  # a visitor's own stream does not slow its camera
    clock[0] = ACTIVE_WITHIN_S / 2
    activity.saw(2)
    clock[0] = ACTIVE_WITHIN_S + 0.1  # stream 1 went quiet, stream 2 did not
    assert activity.active() == 1
    activity.forget(2)  # its track ended
    assert activity.active() == 0


def test_new_streams_get_the_full_rate_until_the_process_carries_enough() -> None:
    assert [camera_fps(n) for n in range(FULL_RATE_STREAMS + 2)] == (
        [FULL_FPS] * FULL_RATE_STREAMS + [REDUCED_FPS] * 2)
    assert REDUCED_FPS < FULL_FPS
    assert video_constraints(15)["frameRate"] == {"ideal": 15, "max": 15}


def test_new_streams_get_the_full_size_until_the_process_carries_enough() -> None:
    from fer_core.live.capacity import DEFAULT_REDUCED_SIZE, FULL_SIZE, camera_size, reduced_size_from_env

    assert [camera_size(n) for n in range(FULL_RATE_STREAMS + 2)] == (
        [FULL_SIZE] * FULL_RATE_STREAMS + [DEFAULT_REDUCED_SIZE] * 2)
    assert camera_size(FULL_RATE_STREAMS, (320, 240)) == (320, 240)
    assert video_constraints(15, *DEFAULT_REDUCED_SIZE)["width"] == {"ideal": DEFAULT_REDUCED_SIZE[0]}
    assert reduced_size_from_env({}) == DEFAULT_REDUCED_SIZE
    assert reduced_size_from_env({"FER_REDUCED_CAMERA_SIZE": "640X480"}) == FULL_SIZE
    for bad in ("480", "480x", "wide", "1280x720", "100x80", "481x360"):
        with pytest.raises(ValueError, match="FER_REDUCED_CAMERA_SIZE"):
            reduced_size_from_env({"FER_REDUCED_CAMERA_SIZE": bad})


def test_a_live_stream_reports_itself_while_it_sends_frames(analyzer) -> None:
    from fer_core.live import LiveProcessor

    activity = StreamActivity()
    processor = LiveProcessor(analyzer, activity=activity)
    frame = av.VideoFrame.from_ndarray(np.zeros((120, 160, 3), np.uint8), format="rgb24")
    assert activity.active() == 0
    processor.process_latest([frame])
    assert activity.active() == 1 and activity.active(excluding=id(processor)) == 0
    processor.on_ended()
    assert activity.active() == 0


def test_a_full_server_turns_new_streams_away_but_never_stops_a_running_one() -> None:
    clock = [0.0]
    activity = StreamActivity(clock=lambda: clock[0])
    for stream in (1, 2):
        activity.saw(stream)
    assert may_start(activity, 3, limit=3)  # two others: room for a third
    activity.saw(3)
    assert not may_start(activity, 4, limit=3)  # full
    assert may_start(activity, 3, limit=3)  # its own rerun must not stop a running stream
    assert may_start(activity, 4, limit=None)  # no limit
    clock[0] = ACTIVE_WITHIN_S + 1  # they all ended
    assert may_start(activity, 4, limit=3)


def test_the_limit_comes_from_the_environment_with_clear_errors() -> None:
    assert max_streams_from_env({}) == DEFAULT_MAX_STREAMS
    assert max_streams_from_env({"FER_MAX_STREAMS": "6"}) == 6
    assert max_streams_from_env({"FER_MAX_STREAMS": "0"}) is None  # no limit
    for bad in ("-1", "four", "2.5"):
        with pytest.raises(ValueError, match="FER_MAX_STREAMS"):
            max_streams_from_env({"FER_MAX_STREAMS": bad})


def test_the_default_limit_is_the_sizing_rule_the_load_benchmark_wrote(tmp_path) -> None:
    import json

    from bench.capacity.load import SIZING_FILE, sizing
    from fer_core.live.capacity import SIZING_FILE as READ_FILE
    from fer_core.live.capacity import measured_sizing

    assert READ_FILE == SIZING_FILE  # the file the benchmark writes is the one the app reads
    from fer_core.live.capacity import default_max_streams, usable_cpus

    assert DEFAULT_MAX_STREAMS == default_max_streams(measured_sizing(), usable_cpus()) >= 1
    # the rule as the benchmark derives it from its levels: every stream connected, none stalled, >= 10 FPS
    level = {"streams": 4, "connected": 4, "stalled_streams": 0, "unsampled_streams": 0, "analysed_fps_min": 12.0,
             "server_cpu_cores": 1.2}
    report = {"levels": [dict(level, streams=2, connected=2, analysed_fps_min=16.0), level,
                         dict(level, streams=5, connected=5, analysed_fps_min=9.0)],
              "machine": {"cpus": 2, "processor": "x"}, "model": "m", "flip_tta": True, "date": "d", "clients": "aiortc"}
    rule = sizing(report)
    assert (rule["max_streams"], rule["streams_at_15fps"], rule["cores_per_stream"]) == (4, 2, 0.3)
    path = tmp_path / "sizing.json"
    path.write_text(json.dumps(rule))
    assert measured_sizing(path)["max_streams"] == 4


def test_a_missing_or_damaged_sizing_rule_says_which_file_and_how_to_write_it(tmp_path) -> None:
    from fer_core.errors import ConfigError
    from fer_core.live.capacity import measured_sizing

    damaged = tmp_path / "sizing.json"
    damaged.write_text('{"streams_at_15fps": 2}')
    for path in (tmp_path / "absent.json", damaged):
        with pytest.raises(ConfigError, match=r"sizing rule .*bench\.capacity\.load"):
            measured_sizing(path)


def test_the_default_limit_scales_down_on_fewer_cpus_than_measured_never_up(tmp_path) -> None:
    from fer_core.live.capacity import default_max_streams, usable_cpus

    rule = {"max_streams": 8, "cpus": 2}
    assert [default_max_streams(rule, cpus) for cpus in (0.25, 1, 1.5, 2, 16)] == [1, 4, 6, 8, 8]
    # a cgroup quota caps the CPUs (v2: "quota period"; v1: two files); "max" / -1 means none
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert usable_cpus(tmp_path) == min(1.5, usable_cpus(tmp_path / "absent"))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cpus(tmp_path) == usable_cpus(tmp_path / "absent") >= 1
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cpus(tmp_path) == 0.5
