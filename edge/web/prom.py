"""Prometheus exposition of the daemon's counters (``GET /metrics``), read from LiveState at
scrape time so nothing is registered globally and several apps can live in one process."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge.lesson.live import CAMERA_STATES, FEED_STATES, FeedCounters, LiveState

from .auth import require_teacher

__all__ = ["LiveCollector", "metrics_registry", "metrics_router"]

metrics_router = APIRouter(tags=["metrics"], dependencies=[Depends(require_teacher)])


class LiveCollector(Collector):
    """``edge_*`` metrics from a :class:`LiveState`."""

    def __init__(self, live: LiveState):
        self.live = live

    def collect(self) -> Iterator[Metric]:
        counters = self.live.counters()
        cams = counters["cameras"]
        # attribute of CameraCounters -> (family type, metric name, help)
        per_camera = {
            "fps_analysed": (GaugeMetricFamily, "edge_fps_analysed", "Frames analysed per second."),
            "fps_skipped": (GaugeMetricFamily, "edge_fps_skipped",
                            "Frames dropped per second (model busy)."),
            "inference_ms": (GaugeMetricFamily, "edge_inference_ms",
                             "Model inference time per frame, milliseconds."),
            "reconnects": (CounterMetricFamily, "edge_camera_reconnects",
                           "Camera streams lost after delivering frames."),
            "failures": (CounterMetricFamily, "edge_camera_failures",
                         "Camera connection attempts that gave no frame."),
            "frames": (CounterMetricFamily, "edge_camera_frames",
                       "Frames delivered by the camera."),
        }
        for attr, (family_type, name, doc) in per_camera.items():
            family = family_type(name, doc, labels=["camera"])
            for cam, values in cams.items():
                family.add_metric([cam], float(getattr(values, attr)))
            yield family
        state = GaugeMetricFamily("edge_camera_state", "1 for the camera's current state.",
                                  labels=["camera", "state"])
        for cam, values in cams.items():
            for name in CAMERA_STATES:
                state.add_metric([cam, name], float(values.state == name))
        yield state
        yield from _feed_metrics(counters["feeds"])
        yield GaugeMetricFamily("edge_outbox_depth", "Aggregates waiting to be sent over MQTT.",
                                value=counters["outbox_depth"])
        yield CounterMetricFamily("edge_windows_written", "Window records stored since start.",
                                  value=counters["windows_written"])
        yield GaugeMetricFamily("edge_lesson_running", "1 while a lesson runs.",
                                value=float(counters["lesson_running"]))
        yield GaugeMetricFamily("edge_live_listeners", "Open live-page event streams.",
                                value=counters["listeners"])
        yield CounterMetricFamily("edge_log_suppressed", "Log lines dropped by the rate limit.",
                                  value=counters["log_suppressed"])


def _feed_metrics(feeds: dict[str, FeedCounters]) -> Iterator[Metric]:
    """Per feed (audio, env:<sensor>, heart-rate, scene:<camera>, station:<camera>): samples,
    failures, state, and the analysed frames per second of station loops."""
    samples = CounterMetricFamily("edge_feed_samples", "Samples a feed delivered to the lesson.",
                                  labels=["feed"])
    failures = CounterMetricFamily("edge_feed_failures",
                                   "Source failures of a feed (each retried after a backoff).",
                                   labels=["feed"])
    state = GaugeMetricFamily("edge_feed_state", "1 for the feed's current state.",
                              labels=["feed", "state"])
    fps = GaugeMetricFamily("edge_feed_fps",
                            "Frames analysed per second (station loops; 0 where not measured).",
                            labels=["feed"])
    for feed, values in feeds.items():
        samples.add_metric([feed], float(values.samples))
        failures.add_metric([feed], float(values.failures))
        for name in FEED_STATES:
            state.add_metric([feed, name], float(values.state == name))
        fps.add_metric([feed], float(values.fps))
    yield from (samples, failures, state, fps)


def metrics_registry(live: LiveState) -> CollectorRegistry:
    """A registry of its own holding one :class:`LiveCollector`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LiveCollector(live))
    return registry


@metrics_router.get("/metrics", response_class=Response,
                    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """Prometheus text exposition of the daemon's counters."""
    return Response(generate_latest(request.app.state.metrics_registry),
                    media_type=CONTENT_TYPE_LATEST)
