"""JSON Schemas of every payload on the wire (SPEC 7), generated here and published in schemas/.

One schema per aggregate kind (``agg/<kind>``) plus ``state``, ``meta``, ``command`` and
``reply``. The files in ``sync/schemas/`` are written by ``python -m sync.contract`` and a test
fails when they drift from this module. The hub validates every payload with these schemas.

Privacy (SPEC 3) is part of the contract: ``values`` of an aggregate is the record's metrics
block, generated from the closed record schema (:mod:`edge.privacy.records`, defined once there):
no key it does not name, bounded numbers. JSON Schema cannot say "finite", so
:func:`payload_problem` (what the hub runs) adds that and validates ``values`` with the models.

The hub runs :func:`payload_problem` on every aggregate, so acceptance has a compiled fast
path: a strict pydantic model of the same envelope (:func:`_fast_adapter`, pydantic-core)
accepts a payload only if the published JSON Schema, the finiteness check and the ``values``
models all would (tests/test_contract_fast_path.py holds the two to that on valid and hostile
payloads). Anything the model refuses goes through the published contract (jsonschema), which
decides and explains: the verdict is the contract's, the common case costs microseconds.
"""

from __future__ import annotations

import json
import math
import sys
from functools import cache
from pathlib import Path

from typing import Annotated, Any, Literal

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, \
    ValidationError, create_model

from edge.privacy.records import KINDS, RECORD_SCHEMA_VERSION

from sensors.const import CAMERA_STATES, FEED_STATES, MODES, Mode

from .topics import AGG_KINDS

__all__ = [
    "MSG_ID_PATTERN",
    "RECEIPT_MAX_GAPS",
    "SCHEMA_DIR",
    "SCHEMA_VERSION",
    "aggregate_schema",
    "all_schemas",
    "contract_problem",
    "payload_problem",
    "schema_id",
    "validator",
    "write_schemas",
]

# ``values`` come from the record schema, so the wire schemas share its version.
SCHEMA_VERSION = RECORD_SCHEMA_VERSION
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_TIME = {"type": "number", "minimum": -1e12, "maximum": 1e12}
_REF = "#/$defs/{model}"
# Counters (seq, session) are SQLite INTEGERs at both ends: 1e30 must fail validation, not
# overflow inside a driver.
_COUNTER = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


MSG_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}:(?:[0-9a-f]{16}:)?[1-9][0-9]*$"
RECEIPT_MAX_GAPS = 256


def _receipt_schema() -> dict:
    """hub -> edge ``receipt``: seqs ``from``..``upto`` of store ``epoch`` are committed,
    except the inclusive ``gaps`` ranges (seqs the hub did not get in that batch)."""
    seq = _COUNTER
    return _envelope("receipt", {
        "epoch": {"type": "string", "pattern": "^([0-9a-f]{16})?$"},
        "from": seq,
        "upto": seq,
        "gaps": {"type": "array", "maxItems": RECEIPT_MAX_GAPS, "items": {
            "type": "array", "prefixItems": [seq, seq], "minItems": 2, "maxItems": 2}},
        "ts": {"type": "number"},
    }, ["epoch", "from", "upto", "gaps"])


def schema_id(name: str) -> str:
    """The ``schema`` field value of a payload, e.g. ``cls.agg.classroom/v1``."""
    return f"cls.{name}/v{SCHEMA_VERSION}"


def _envelope(name: str, properties: dict, required: list[str], with_id: bool = True) -> dict:
    return {
        "$schema": _DRAFT,
        "$id": f"https://classroom-edge.invalid/schemas/{name}.v{SCHEMA_VERSION}.json",
        "title": f"classroom-edge {name} payload v{SCHEMA_VERSION}",
        "type": "object",
        "additionalProperties": False,
        "required": ["schema", *required] if with_id else required,
        "properties": {"schema": {"const": schema_id(name)}, **properties},
    }


@cache
def _values_type(kind: str) -> Any:
    """``values`` of an ``agg/<kind>`` payload: the kind's metrics model(s) plus ``suppressed``."""
    models = tuple(create_model(f"{m.__name__}Values", __base__=m, suppressed=(bool, ...))
                   for m in KINDS[kind])
    return models[0] if len(models) == 1 else models[0] | models[1]


@cache
def _values_adapter(kind: str) -> TypeAdapter:
    return TypeAdapter(_values_type(kind))


def aggregate_schema(kind: str) -> dict:
    """Schema of an ``agg/<kind>`` payload (``values`` generated from the record models)."""
    values = _values_adapter(kind).json_schema(ref_template=_REF)
    defs = values.pop("$defs", {})
    schema = _envelope(f"agg.{kind}", {
        # <node>:<store epoch>:<seq>; the epoch-less <node>:<seq> of older nodes still parses.
        "msg_id": {"type": "string", "pattern": MSG_ID_PATTERN},
        "seq": _COUNTER,
        "mode": {"enum": list(MODES)},
        "window": {
            "type": "object", "additionalProperties": False, "required": ["start", "end"],
            "properties": {"start": _TIME, "end": _TIME},
        },
        "n": {"type": ["integer", "null"], "minimum": 0},
        "values": values,
        "quality": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "coverage": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "sources_ok": {"type": ["boolean", "null"]},
                "rolled_up": {"type": "integer", "minimum": 2,
                              "description": "number of windows merged by the outbox policy"},
            },
        },
        "historical": {"type": "boolean"},
        "demo": {"type": "boolean"},
    }, ["msg_id", "seq", "window", "n", "values", "quality", "historical"])
    schema["$defs"] = defs
    return schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# The fast path's envelope: each field as strict as (or stricter than) its JSON Schema above.
# Strict mode: no coercion ("1" is not 1, true is not 1); no NaN or infinity anywhere.
_FastTime = Annotated[float, Field(ge=_TIME["minimum"], le=_TIME["maximum"],
                                   allow_inf_nan=False)]
_FastCounter = Annotated[int, Field(ge=_COUNTER["minimum"], le=_COUNTER["maximum"])]


class _FastWindow(_Strict):
    start: _FastTime
    end: _FastTime


class _FastQuality(_Strict):
    coverage: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    sources_ok: bool | None = None
    # No "| None": the schema has no null here; the default only means "may be absent".
    rolled_up: Annotated[int, Field(ge=2, le=_COUNTER["maximum"])] = None  # type: ignore


@cache
def _fast_adapter(kind: str) -> TypeAdapter:
    """Compiled validator of a whole ``agg/<kind>`` payload; accepts only what the contract does."""
    model = create_model(
        f"FastAggregate_{kind}", __base__=_Strict,
        # "schema" would shadow BaseModel.schema(): the field takes the wire name as its alias.
        schema_=(Literal[schema_id(f"agg.{kind}")],  # type: ignore[valid-type]
                 Field(alias="schema")),
        msg_id=(Annotated[str, StringConstraints(pattern=MSG_ID_PATTERN)], ...),
        seq=(_FastCounter, ...),
        mode=(Mode, None),
        window=(_FastWindow, ...),
        n=(Annotated[int, Field(ge=0)] | None, ...),
        values=(_values_type(kind), ...),
        quality=(_FastQuality, ...),
        historical=(bool, ...),
        demo=(bool, None),
    )
    return TypeAdapter(model)


def payload_problem(payload: Any) -> str | None:
    """Why an ``agg/<kind>`` payload breaks the contract (its schema, finite numbers, the closed
    ``values`` models); None when it keeps it. The hub runs this before storing."""
    if not isinstance(payload, dict) or not str(payload.get("schema", "")).startswith("cls.agg."):
        return "payload: not an aggregate (schema cls.agg.<kind>/v1)"
    name = str(payload["schema"]).removeprefix("cls.").split("/")[0]
    if name.removeprefix("agg.") not in KINDS:
        return f"schema: unknown aggregate kind {name[:40]!r}"
    try:
        _fast_adapter(name.removeprefix("agg.")).validate_python(payload)
        return None
    except ValidationError:
        return contract_problem(name, payload)


def contract_problem(name: str, payload: dict[str, Any]) -> str | None:
    """:func:`payload_problem` by the published contract alone (jsonschema, finiteness, the
    ``values`` models): slow, and the one that explains a refusal."""
    error = next(iter(validator(name).iter_errors(payload)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "payload"
        return f"schema {name}: {where}: {error.message[:200]}"
    if (where := _non_finite(payload, "payload")) is not None:
        return f"{where}: not a finite number"
    try:
        _values_adapter(name.removeprefix("agg.")).validate_python(payload["values"])
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        return f"values.{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return None


def _non_finite(value: Any, where: str) -> str | None:
    """Path of the first NaN or infinity in a decoded JSON value (JSON Schema cannot say)."""
    if isinstance(value, float) and not math.isfinite(value):
        return where
    children = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, item in children:
        if (found := _non_finite(item, f"{where}.{key}")) is not None:
            return found
    return None


def _other_schemas() -> dict[str, dict]:
    ts = {"type": "number"}
    return {
        "state": _envelope("state", {
            "online": {"type": "boolean"},
            "session": _COUNTER,
            "ts": ts,
        }, ["online", "session"]),
        "meta": _envelope("meta", {
            "version": {"type": "string"},
            "node": {"type": "string"},
            "schemas": {"type": "object", "additionalProperties": {"type": "string"}},
            "models": {"type": "array", "items": {
                "type": "object", "required": ["id", "sha256"],
                "properties": {"id": {"type": "string"},
                               "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
            }},
            "sources": {"type": "array", "items": {"type": "string"}},
            "demo": {"type": "boolean"},
            "ts": ts,
        }, ["version", "schemas", "models"]),
        "command": _envelope("command", {
            "seq": {**_COUNTER, "description": "resync: first seq to resend"},
        }, [], with_id=False),
        "health": _envelope("health", {
            "ts": ts,
            "session": _COUNTER,
            "outbox": {"type": "object"},
            "sync": {"type": "object"},
            "feeds": {"type": "object", "additionalProperties": {  # microphone, sensors, bands
                "type": "object",
                "additionalProperties": False,
                "required": ["state", "samples", "failures"],
                "properties": {
                    "state": {"enum": list(FEED_STATES)},
                    "samples": {"type": "integer", "minimum": 0},
                    "failures": {"type": "integer", "minimum": 0},
                    "fps": {"type": "number", "minimum": 0,
                            "description": "frames analysed per second (PE station loops)"},
                },
            }},
        }, ["ts", "session", "outbox"]),
        "camera": _envelope("camera", {
            "camera": {"type": "string"},
            "state": {"enum": list(CAMERA_STATES)},
            "frames": {"type": "integer", "minimum": 0},
            "reconnects": {"type": "integer", "minimum": 0},
            "failures": {"type": "integer", "minimum": 0},
            "ts": ts,
        }, ["camera", "state", "ts"]),
        "reply": _envelope("reply", {
            "ok": {"type": "boolean"},
            "verb": {"type": "string"},
            "error": {"type": "string"},
            "result": {"type": "object"},
            "ts": ts,
        }, ["ok", "verb", "ts"]),
        "receipt": _receipt_schema(),
    }


def all_schemas() -> dict[str, dict]:
    """Every published schema by file stem (``agg.classroom``, ``state``, ...)."""
    schemas = {f"agg.{kind}": aggregate_schema(kind) for kind in AGG_KINDS}
    schemas.update(_other_schemas())
    return schemas


@cache
def validator(name: str) -> Draft202012Validator:
    """A compiled validator for the schema ``name`` (``agg.<kind>``, ``state``, ...).

    :raises KeyError: for a name that has no schema.
    """
    return Draft202012Validator(all_schemas()[name])


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema as ``<name>.v<version>.json`` into ``directory``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in all_schemas().items():
        path = directory / f"{name}.v{SCHEMA_VERSION}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(written)
