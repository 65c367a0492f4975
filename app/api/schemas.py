"""Query and result models that more than one API route module uses."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core import ikm
from app.core.periods import PERIOD_HELP
from app.errors import InvalidInput


class MethodQuery(BaseModel):
    """How the IKM is computed (see the README): exact 1/k weights by default, or a
    published fixed weight and rounding steps, to reproduce a spreadsheet's figures."""

    model_config = ConfigDict(extra="forbid")

    weight: Literal["exact", "0.111", "0.11", "0.071"] = "exact"
    round_nrr: int | None = Field(default=None, ge=0, le=10)
    round_weighted: int | None = Field(default=None, ge=0, le=10)
    round_total: int | None = Field(default=None, ge=0, le=10)
    table: Literal["2017", "2004"] | None = Field(
        default=None,
        description="Grade interval table; by default the table of the form the responses "
        "were answered on (2017 for the current form, 2004 for KepmenPAN 25/2004 data)",
    )

    def method(self) -> ikm.Method:
        try:
            return ikm.Method(
                self.weight, self.round_nrr, self.round_weighted, self.round_total, self.table
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None


class ErrorOut(BaseModel):
    """Every error: a stable code and one readable sentence."""

    error: str = Field(examples=["not_found"])
    detail: str = Field(examples=["no unit with code 'disdukcapil'"])


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Where: `body`, `query` or `path`, then field names and list indexes; "
        "empty when the problem is not one field's",
        examples=[["body", "responses", 0, "answers"]],
    )
    msg: str
    type: str = Field(examples=["missing"])


class ValidationErrorOut(ErrorOut):
    """A 422: `detail` sums up every problem on one line; `errors` names each."""

    error: str = Field(examples=["validation_error"])
    detail: str = Field(examples=["query.period: Field required"])
    errors: list[FieldError] = Field(min_length=1)


class MethodOut(BaseModel):
    weight: str
    round_nrr: int | None
    round_weighted: int | None
    round_total: int | None
    table: str | None = Field(
        description="The grade table used; null where each unit is graded with its own form's"
    )
    label: str


class SampleOut(BaseModel):
    population: int
    minimum: int
    n: int
    sufficient: bool
    verdict: str


INCLUDE_CHILDREN = (
    "The unit and all its descendants, pooled by sums and counts (default); false: the "
    "unit's own responses only. A service or counter is always the unit's own"
)


class ScopeQuery(BaseModel):
    """Which responses: a unit (with its descendants by default), a period, optionally one
    service or counter of the unit; unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    unit: str = Field(description="Unit code", examples=["disdukcapil"])
    period: str = Field(description=PERIOD_HELP, examples=["2026-S1"])
    service: str | None = Field(default=None, description="Service code of the unit")
    counter: str | None = Field(default=None, description="Counter code of the unit")
    include_children: bool = Field(default=True, description=INCLUDE_CHILDREN)
    include_flagged: bool = Field(
        default=False, description="Count responses flagged as repeats or automated too"
    )
