"""bench.capacity.load's report logic on hand-made per-stream figures: a page that could not be read
twice in the window makes its gaps unknown (never "no gap"), and such a level never counts
towards the sizing rule. (tests/test_load_soak.py runs the benchmark itself.)"""

from __future__ import annotations

from bench.capacity.load import gap_summary, overload_phrase, sizing_rule


def stream(gap: float | None, received: float | None) -> dict:
    return {"longest_gap_s": gap, "received_fps": received, "samples_without_video": 0}


def level(streams: int, per_stream: list[dict], fps: float = 12.0) -> dict:
    return {"streams": streams, "connected": streams, "analysed_fps_min": fps, "analysed_fps_median": fps,
            "received_fps_min": None, "first_processed_s_max": 5.0, **gap_summary(per_stream)}


def test_unread_pages_make_gaps_unknown_not_zero():
    summary = gap_summary([stream(None, None), stream(None, None)])
    assert summary == {"longest_gap_s": None, "stalled_streams": 0, "unsampled_streams": 2}
    assert "whether the streams stalled is unknown" in overload_phrase(level(2, [stream(None, None)] * 2))


def test_stalls_are_counted_over_the_pages_that_could_be_read():
    summary = gap_summary([stream(0.5, 25.0), stream(3.0, 9.0), stream(None, None)])
    assert summary == {"longest_gap_s": 3.0, "stalled_streams": 1, "unsampled_streams": 1}


def test_a_level_with_unread_pages_does_not_count_for_the_sizing_rule():
    held = level(2, [stream(0.0, 28.0)] * 2)
    unread = level(4, [stream(0.0, 28.0)] * 3 + [stream(None, None)])
    assert sizing_rule([held, unread]) == 2
    assert sizing_rule([held, level(4, [stream(0.0, 28.0)] * 4)]) == 4


def test_video_kept_coming_means_new_frames_in_both_halves_of_the_window():
    from bench.capacity.load import kept_coming

    assert kept_coming([(0, 1), (1, 5), (2, 9), (3, 12)])
    assert not kept_coming([(0, 1), (1, 5), (2, 9), (3, 9), (4, 9)])  # froze in the second half
    assert not kept_coming([(0, 1), (1, 1), (2, 1), (3, 5)])  # nothing in the first half
    assert not kept_coming([(0, None), (1, 4)])  # too few readable samples to say
