"""Per-frame pipeline latency: detect + classify + draw, per detector, resolution and face count.

One call is what the app does with a video or webcam frame: `StreamAnalyzer.update` (detection
on the frame with the detector's frame pass, one batched classification of every face, the
tracker) followed by `draw_faces` (the annotated copy the user sees). Photos (`photo_rows`) go
through `FaceAnalyzer.analyze`, as the Photo page does, with the detector's full pass.
"""

from __future__ import annotations

from typing import Any

from bench.common.frames import Frame
from bench.common.photo_set import Photo
from bench.common.scoring import IOU_MATCH, score
from bench.common.stats import Budget, time_calls
from fer_core.classifier import EmotionClassifier
from fer_core.detection import create_detector
from fer_core.drawing import draw_faces
from fer_core.pipeline import FaceAnalyzer, StreamAnalyzer
from fer_core.tracking import iou


def faces_found(frame: Frame, boxes: list[tuple[int, int, int, int]]) -> int:
    """How many of the frame's pasted faces a detection overlaps (IoU >= bench.common.scoring's bar)."""
    return sum(any(iou(b, face) >= IOU_MATCH for b in boxes) for face in frame.boxes)


def time_frame(analyzer: FaceAnalyzer, frame: Frame, budget: Budget) -> dict[str, Any]:
    stream = StreamAnalyzer(analyzer)
    faces = stream.update(frame.image)
    timing = time_calls(lambda i: draw_faces(frame.image, stream.update(frame.image)), budget)
    return {
        "frame": frame.key, "width": frame.width, "height": frame.height, "faces": frame.faces,
        "detections": len(faces), "faces_found": faces_found(frame, [f.box for f in faces]),
        **timing, "fps": round(1000.0 / timing["p50_ms"], 1),
    }


def pipeline_rows(detectors: list[str], classifier: EmotionClassifier, frames: list[Frame],
                  budget: Budget) -> list[dict[str, Any]]:
    rows = []
    for name in detectors:
        analyzer = FaceAnalyzer(create_detector(name), classifier)
        for frame in frames:
            rows.append({"detector": name, "model": classifier.name, **time_frame(analyzer, frame, budget)})
    return rows


def photo_rows(analyzer: FaceAnalyzer, photos: list[Photo], budget: Budget) -> list[dict[str, Any]]:
    """The same detect + classify + draw on each real photo of the photo set, as it is."""
    rows = []
    for photo in photos:
        found = score([f.box for f in analyzer.analyze(photo.image)], photo.faces, photo.optional)
        timing = time_calls(lambda i, im=photo.image: draw_faces(im, analyzer.analyze(im)), budget)
        rows.append({"photo": photo.name, "width": photo.image.shape[1], "height": photo.image.shape[0],
                     "faces": photo.expected, "faces_found": sum(found.found),
                     "false_detections": found.false_detections, **timing})
    return rows
