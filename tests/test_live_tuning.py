"""fer_core.live.tuning: the live path's settings from the environment, with clear errors."""

from __future__ import annotations

import pytest

from fer_core.errors import ConfigError
from fer_core.live.tuning import DEFAULT_DETECT_EVERY, LiveTuning, tuning_from_env


def test_unset_means_the_defaults():
    assert tuning_from_env({}) == LiveTuning() == LiveTuning(DEFAULT_DETECT_EVERY, "yuv420p", "analysed")
    assert tuning_from_env({"FER_DETECT_EVERY": " ", "FER_LIVE_FRAME_FORMAT": ""}) == LiveTuning()


def test_each_setting_is_read():
    tuning = tuning_from_env({"FER_DETECT_EVERY": "1", "FER_LIVE_FRAME_FORMAT": "RGB24", "FER_LIVE_PACING": "camera",
                              "FER_LIVE_CHARTS_EVERY": "1"})
    assert tuning == LiveTuning(detect_every=1, frame_format="rgb24", pacing="camera", charts_every_s=1)


@pytest.mark.parametrize("env, named", [({"FER_DETECT_EVERY": "0"}, "FER_DETECT_EVERY"),
                                        ({"FER_DETECT_EVERY": "two"}, "FER_DETECT_EVERY"),
                                        ({"FER_DETECT_EVERY": "31"}, "FER_DETECT_EVERY"),
                                        ({"FER_LIVE_FRAME_FORMAT": "bgr24"}, "FER_LIVE_FRAME_FORMAT"),
                                        ({"FER_LIVE_PACING": "sometimes"}, "FER_LIVE_PACING"),
                                        ({"FER_LIVE_CHARTS_EVERY": "0"}, "FER_LIVE_CHARTS_EVERY")])
def test_bad_values_name_the_setting(env, named):
    with pytest.raises(ConfigError, match=named):
        tuning_from_env(env)
