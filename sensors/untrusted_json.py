"""Parse JSON from the network with limits: size, nesting depth, finite numbers, object at top.

Every MQTT payload the project reads (hub ingest, hub -> edge commands, MQTT environment
sensors) goes through :func:`loads_bounded`. Python's ``json`` recurses once per nesting
level, so a 2 KB ``[[[[...]]]]`` raises ``RecursionError`` (not a ``ValueError``) from inside
whatever callback called it; ``1e400`` silently becomes ``inf``. Here both are a
:class:`UntrustedJson` error with a one-line reason, checked *before* the recursive parse.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

__all__ = ["MAX_DEPTH", "UntrustedJson", "loads_bounded", "nesting_depth"]

# Our deepest payload (agg values.pe.hr...) is 5 levels; 32 leaves room without letting the
# parser recurse anywhere near Python's limit (1000).
MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
# Byte -> nesting step: one table lookup per byte (two np.isin calls cost the hub 2.5x more).
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")], _STEP[list(b"]}")] = 1, -1


class UntrustedJson(ValueError):
    """A payload refused before or while parsing (the text is the reason)."""


def _reject_constant(name: str) -> float:
    raise UntrustedJson(f"non-finite number {name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UntrustedJson(f"number {text[:40]} is out of range")
    return value


def nesting_depth(payload: bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text, brackets inside strings not counted."""
    bare = np.frombuffer(_STRING.sub(b'""', payload), dtype=np.uint8)
    return int(np.cumsum(_STEP[bare], dtype=np.int32).max(initial=0))


def loads_bounded(payload: bytes | bytearray | str, *, max_bytes: int,
                  max_depth: int = MAX_DEPTH, object_only: bool = True) -> Any:
    """Decode one JSON document no larger than ``max_bytes`` and no deeper than ``max_depth``.

    NaN/Infinity literals and numbers that overflow a float are refused; so is a top level
    other than an object when ``object_only``.

    :raises UntrustedJson: with the reason, for anything refused (never RecursionError).
    """
    raw = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    if len(raw) > max_bytes:
        raise UntrustedJson(f"payload of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise UntrustedJson(f"JSON nested {depth} levels deep exceeds the limit of {max_depth}")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant,
                          parse_float=_finite_float)
    except UntrustedJson:
        raise
    except json.JSONDecodeError as exc:
        raise UntrustedJson(f"malformed JSON ({exc.msg}, column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, a 5000-digit integer
        raise UntrustedJson(f"malformed JSON ({str(exc)[:200]})") from None
    if object_only and not isinstance(data, dict):
        raise UntrustedJson("payload is not a JSON object")
    return data
