"""The strict base every config section inherits: a mistyped key is an error, not a silent default.

Types are strict too, wherever the value comes from (TOML or an ``EDGE__`` override): a boolean
is never a number (pydantic's lax mode reads ``true`` as 1, so ``EDGE__PRIVACY__MIN_GROUP=true``
meant min_group 1), text is never a number and a number is never a boolean. Pydantic's own
``strict`` mode would also refuse a path given as text and a point given as a list, which is
what TOML and JSON have, so numbers and booleans are checked here instead.
"""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

__all__ = ["NAME_PATTERN", "Mistyped", "Name", "StrictModel"]

# A name given in the config (camera id, PE station) that records carry: short, no spaces, so
# it cannot hold free text such as a student's name (the record schema uses the same rule).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]


class StrictModel(BaseModel):
    """Config section: unknown keys rejected, assignments validated, no bool/number coercion,
    NaN and infinity refused (``nan`` is valid TOML; no setting means anything with it)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _strict_scalars(cls, data: Any) -> Any:
        # A model-level hook (field-level "*" validators may not touch discriminator fields);
        # a mistyped value is swapped for a marker that fails the field's own validation, so
        # the error keeps its exact location (file:line or the EDGE__ variable).
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {k: _strict(fields[k].annotation, v) if k in fields else v for k, v in data.items()}


class Mistyped:
    """A boolean given for a number, a number or text for a boolean: matches no field type."""

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        kind = "a boolean" if isinstance(self.value, bool) else type(self.value).__name__
        return f"{json.dumps(self.value)} ({kind})"


def _strict(annotation: Any, value: Any) -> Any:
    """``value`` with every scalar of the wrong kind for ``annotation`` replaced by Mistyped.

    Only numbers and booleans are judged, inside unions, lists, tuples and dicts; everything
    else is left to pydantic.
    """
    origin = get_origin(annotation)
    if origin is Annotated:
        return _strict(get_args(annotation)[0], value)
    if origin in (Union, UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        if value is None:
            return value
        tried = [_strict(m, value) for m in members]
        return value if any(t is value for t in tried) else tried[0]
    if annotation in (int, float):
        return Mistyped(value) if isinstance(value, (bool, str)) else value
    if annotation is bool:
        return value if isinstance(value, bool) else Mistyped(value)
    if origin in (list, tuple) and isinstance(value, (list, tuple)):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        types = args * len(value) if origin is list or len(args) == 1 else args
        items = [_strict(t, v) for t, v in zip(types, value)] + list(value[len(types):])
        return value if all(a is b for a, b in zip(items, value)) else type(value)(items)
    if origin is dict and isinstance(value, dict) and len(get_args(annotation)) == 2:
        items = {k: _strict(get_args(annotation)[1], v) for k, v in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    return value
