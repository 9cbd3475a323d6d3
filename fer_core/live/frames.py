"""Between WebRTC video frames and the RGB arrays the analysis draws on, each way converted once.

    rgb, ours = to_rgb(frame)                  # a camera frame (yuv420p) -> a new RGB array
    out = to_video_frame(rgb, frame, "yuv420p")  # the annotated array -> the frame sent back

The way back matters more than it looks: streamlit-webrtc sends the last analysed frame again
for every camera frame that was not analysed, and aiortc's VP8 encoder converts any frame that
is not yuv420p with swscale each time it sends it (RGB to YUV is swscale's slow direction).
Handing it a yuv420p frame, converted once by OpenCV, removes that work from every frame sent.
bench.capacity.live_profile charts both functions as `to_ndarray` and `from_ndarray`.
"""

from __future__ import annotations

from typing import Literal

import av
import cv2
import numpy as np

FrameFormat = Literal["yuv420p", "rgb24"]
FRAME_FORMATS: tuple[FrameFormat, ...] = ("yuv420p", "rgb24")


def to_rgb(frame: av.VideoFrame) -> tuple[np.ndarray, bool]:
    """The frame as an RGB uint8 array, and whether that array is ours to draw on: a camera's
    yuv420p frame converts into a new array; an rgb24 frame's array is a view of the frame."""
    return frame.to_ndarray(format="rgb24"), frame.format.name != "rgb24"


def to_video_frame(rgb: np.ndarray, like: av.VideoFrame, fmt: FrameFormat = "yuv420p") -> av.VideoFrame:
    """An RGB array as a video frame in `fmt` with `like`'s timestamps. yuv420p (BT.601, the
    range swscale and the browsers' decoders use) needs an even width and height; odd sizes go
    out as rgb24."""
    height, width = rgb.shape[:2]
    if fmt == "yuv420p" and height % 2 == 0 and width % 2 == 0:
        i420 = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)  # no copy: it is uint8
        out = av.VideoFrame.from_ndarray(i420, format="yuv420p")
    else:
        out = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    out.pts = like.pts
    if like.time_base is not None:  # av refuses None here
        out.time_base = like.time_base
    return out


__all__ = ["FRAME_FORMATS", "FrameFormat", "to_rgb", "to_video_frame"]
