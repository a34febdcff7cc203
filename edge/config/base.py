"""The strict base every config section inherits: a mistyped key is an error, not a silent default."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Config section: unknown keys rejected, assignments validated, NaN and infinity refused
    (``nan`` is valid TOML; no setting means anything with it)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
