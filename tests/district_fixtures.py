"""Real edge lesson records for the district page: generated scenes through LessonSession, an
edge store and its outbox, the publisher's payload builder and the hub's own ingest.

Only the records' clock is moved (scenes start at t = 0; a daemon stamps unix time), so each
lesson can be placed on a chosen day; every value is what the engines computed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from edge.config import EdgeConfig, NodeConfig, ZonesConfig
from edge.lesson.session import LessonSession
from edge.store import Store, outbox
from sensors.samples import EnvironmentSample
from sync.hub import Hub
from sync.hub_store import HubStore
from sync.payloads import aggregate_payload, encode
from sync.topics import NodeTopics
from tests.pe_scenegen import make_pe_scene
from tests.scenegen import classroom_scene
from tests.sync_fixtures import mqtt_config


def classroom_lesson(script: str, co2_ppm: float, per_row: int = 5, seed: int = 1) -> dict:
    """The lesson record of a generated classroom lesson with CO2 and desk-light readings."""
    scene = classroom_scene(script, rows=2 if per_row >= 3 else 1, per_row=per_row, seed=seed)
    env = [EnvironmentSample(t=float(t), values={"co2_ppm": co2_ppm + 8 * t, "lux_desk": 420.0})
           for t in range(0, int(scene.duration), 10)]
    session = LessonSession(EdgeConfig(), "classroom", scene.zones)
    samples = sorted([*scene.samples, *env], key=lambda s: s.t)
    records = [r for s in samples for r in session.feed(s)] + session.finish()
    return records[-1]


def pe_lessons(mvpa_group_shares: tuple[float, ...]) -> list[dict]:
    """Lesson records of one generated PE lesson (120 s) under each ``pe.mvpa_group_share``:
    0.5 (the default) gives a group density near 50 %, 0.15 one just over the 75 % target."""
    scene = make_pe_scene(seed=0, duration=120.0)
    samples = list(scene.samples())
    zones = ZonesConfig.model_validate(scene.header["zones"])
    out = []
    for share in mvpa_group_shares:
        config = EdgeConfig.model_validate({"node": {"age": scene.header["age"]},
                                            "pe": {"mvpa_group_share": share}})
        session = LessonSession(config, "pe", zones)
        records = [r for s in samples for r in session.feed(s)] + session.finish()
        out.append(records[-1])
    return out


def at(record: dict, start: float, duration_s: float | None = None) -> dict:
    """``record`` moved to start at unix time ``start`` (and lasting ``duration_s``)."""
    length = record["end"] - record["start"] if duration_s is None else duration_s
    return {**record, "start": start, "end": start + length}


def local_ts(day: dt.date, hour: float) -> float:
    """Unix time of ``hour`` o'clock on ``day`` in the local time zone (the hub's)."""
    return dt.datetime.combine(day, dt.time()).astimezone().timestamp() + hour * 3600


@dataclass
class EdgeNode:
    """One classroom node: its own edge store whose outbox rows the hub ingests."""

    node: NodeConfig
    db: Path

    @property
    def key(self) -> str:
        return f"{self.node.district}/{self.node.school}/{self.node.room}/{self.node.id}"

    def deliver(self, hub_store: HubStore, records: list[dict]) -> list[str]:
        """Store ``records`` at the edge, then give the hub their ``agg/<kind>`` payloads;
        returns the hub msg_ids."""
        with Store(self.db) as store:
            for record in records:
                store.write_record(record)
        conn = outbox.open_outbox(self.db)
        try:
            epoch = outbox.store_epoch(conn)
            rows = outbox.unsent_after(conn, 0, 10_000)
            outbox.mark_sent(conn, [r.seq for r in rows])
        finally:
            conn.close()
        hub = Hub(hub_store, mqtt_config("mqtt://127.0.0.1:1"), "mqtt://127.0.0.1:1")
        topics = NodeTopics.for_node(self.node)
        for row in rows:
            hub.ingest(topics.agg(row.kind), encode(aggregate_payload(row, self.node.id, epoch)))
        return [f"{self.key}:{epoch}:{r.seq}" for r in rows]


def edge_node(tmp: Path, school: str, room: str) -> EdgeNode:
    """A node ``d1/<school>/<room>/n1`` with an empty edge store under ``tmp``."""
    node = NodeConfig(district="d1", school=school, room=room, id="n1")
    return EdgeNode(node, tmp / f"{school}-{room}.db")
