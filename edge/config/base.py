"""The strict base every config section inherits: a mistyped key is an error, not a silent default."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Config section: unknown keys rejected, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
