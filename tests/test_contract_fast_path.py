"""The hub's compiled fast path accepts an aggregate only if the published contract would.

``payload_problem`` first tries a strict pydantic model of the envelope (microseconds) and asks
the published JSON Schema (jsonschema, ~0.4 ms) only when that model refuses. So the model must
never accept what the contract refuses. Held here on real records (a generated lesson with room
sensors, through the real outbox payload builder) and on every single-point mutation of them:
each value replaced by values of every JSON type and by boundary numbers, each key removed, an
unknown key added at every level, plus the hostile payloads of the hub tests.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from scenegen import classroom_scene

from edge.config import EdgeConfig
from edge.lesson.session import LessonSession
from edge.store.outbox import OutboxRow
from sensors.samples import EnvironmentSample
from sync.contract import _fast_adapter, contract_problem, payload_problem
from sync.hub import Hub, Rejected
from sync.hub_store import open_store
from sync.payloads import aggregate_payload
from sync.topics import NodeTopics
from tests.sync_fixtures import NODE, mqtt_config

EPOCH = "0123456789abcdef"
REPLACEMENTS: list[Any] = [None, True, False, 0, -1, 1, 1.0, 2.5, -1e13, 1e13, 2**63, 2**70,
                           "", "x", "T", [], [1], {}, {"a": 1}, math.nan, math.inf]


def _real_payloads() -> list[dict[str, Any]]:
    """Wire payloads of a real generated lesson (windows and the lesson) with room sensors."""
    scene = classroom_scene("TTSSTT")
    env = [EnvironmentSample(t=float(t), values={"co2_ppm": 2000.0, "lux_desk": 150.0,
                                                 "rh": 45.0, "temp_c": 24.0})
           for t in range(0, int(scene.duration), 10)]
    session = LessonSession(EdgeConfig(), "classroom", scene.zones)
    records = [r for s in sorted([*scene.samples, *env], key=lambda s: s.t)
               for r in session.feed(s)] + session.finish()
    kinds = {"window": "classroom", "lesson": "lesson", "alert": "alert"}
    payloads = [aggregate_payload(OutboxRow(seq, kinds[r["type"]], json.dumps(r), False),
                                  NODE.id, EPOCH)
                for seq, r in enumerate(records, 1) if r["type"] in kinds]
    return [json.loads(json.dumps(p)) for p in payloads]  # as the hub decodes them


PAYLOADS = _real_payloads()


def _kind(payload: dict[str, Any]) -> str:
    return payload["schema"].removeprefix("cls.agg.").split("/")[0]


def _fast_accepts(payload: dict[str, Any]) -> bool:
    try:
        _fast_adapter(_kind(payload)).validate_python(payload)
    except Exception:  # noqa: BLE001 - any refusal counts as "not accepted"
        return False
    return True


def _mutants(node: Any) -> Iterator[Any]:
    """Every single-point mutation of a decoded JSON value."""
    for value in REPLACEMENTS:
        if value is not node and not (type(value) is type(node) and value == node):
            yield value
    if isinstance(node, dict):
        yield {**node, "zz_unknown": 1}
        for key, child in node.items():
            yield {k: v for k, v in node.items() if k != key}
            for mutant in _mutants(child):
                yield {**node, key: mutant}
    elif isinstance(node, list):
        for i, child in enumerate(node[:3]):
            for mutant in _mutants(child):
                yield [*node[:i], mutant, *node[i + 1:]]


def test_the_real_payloads_cover_several_kinds_and_the_fast_path_accepts_them():
    assert {_kind(p) for p in PAYLOADS} >= {"classroom", "lesson", "alert"}
    for payload in PAYLOADS:
        assert contract_problem(f"agg.{_kind(payload)}", payload) is None
        assert _fast_accepts(payload), payload  # else every message would take the slow path


@pytest.mark.parametrize("kind", ["classroom", "lesson", "alert"])
def test_the_fast_path_never_accepts_what_the_contract_refuses(kind):
    base = next(p for p in PAYLOADS if _kind(p) == kind)
    refused = disagreements = 0
    for mutant in _mutants(copy.deepcopy(base)):
        if not isinstance(mutant, dict) or not str(mutant.get("schema", "")).startswith(
                f"cls.agg.{kind}/"):
            continue
        verdict = contract_problem(f"agg.{kind}", mutant)
        refused += verdict is not None
        if verdict is not None:
            assert not _fast_accepts(mutant), (verdict, mutant)
        # payload_problem is the contract's verdict whichever path decided
        assert (payload_problem(mutant) is None) == (verdict is None)
        disagreements += verdict is None and not _fast_accepts(mutant)
    assert refused > 200  # the mutations really probe the contract
    # Stricter only where JSON Schema is loose (e.g. 1.0 is a JSON Schema "integer"): those
    # payloads take the slow path and are still accepted.
    assert disagreements < refused / 10


def test_the_hub_rejects_an_aggregate_whose_schema_is_not_its_topics_kind(tmp_path):
    store = open_store(str(tmp_path / "hub.db"))
    hub = Hub(store, mqtt_config("mqtt://127.0.0.1:1"), "mqtt://127.0.0.1:1")
    lesson = next(p for p in PAYLOADS if _kind(p) == "lesson")
    with pytest.raises(Rejected, match="on topic agg/classroom"):
        hub.ingest(NodeTopics.for_node(NODE).agg("classroom"), json.dumps(lesson).encode())
    hub.ingest(NodeTopics.for_node(NODE).agg("lesson"), json.dumps(lesson).encode())
    assert store.aggregate_ids() == [f"d1/s1/r101/{lesson['msg_id']}"]
    store.close()
