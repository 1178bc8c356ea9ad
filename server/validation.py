"""JSON request bodies: pydantic models, and errors that name the field, the value and what was
expected.

Every JSON request body has a model, a subclass of :class:`Body` that sits beside its route's
logic (``server.ingest.views.ReadingBatch``, ``server.alerts.settings.AlertSettingsDocument``,
``server.push.devices.DeviceRegistration``, ``server.compat.views.StreamSetup``). The
OpenAPI document's request schemas are generated from these models
(:mod:`server.openapi.schemas`), so every limit is written once, in the model.

:func:`parse` validates a body and turns pydantic's errors into one :class:`InvalidParameter`
(400) whose message names each bad field by its path, the value and what was expected::

    rules.spike.threshold: expected a number in [1.01, 1000], got 0.5
    unknown field channels.fax: expected one of push, email, sms, webhook
    token is required: the device's FCM registration token

A field says what it expects with :func:`expect` (built from the same constants as its limits);
a rule across fields raises :func:`expected` or :func:`problem` from a model validator. Values
are shown as Python writes them (``'five'``, ``None``, ``True``), cut at 60 characters, as the
other parameter errors show them; a secret is never shown (``expect(..., secret=True)``).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import ErrorDetails, PydanticCustomError

from server.errors import InvalidParameter

__all__ = [
    "Body",
    "Flag",
    "SchemaGenerator",
    "describe",
    "expect",
    "expected",
    "number",
    "parse",
    "problem",
    "shown",
    "whole",
]

M = TypeVar("M", bound=BaseModel)

#: At most this many problems are listed in one message.
MAX_PROBLEMS = 5


def shown(value: object) -> str:
    """A bad value as messages show it: its repr, cut at 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def expected(
    what: str, *, got: object = None, at: str | None = None, secret: bool = False
) -> PydanticCustomError:
    """``{path}: expected {what}, got {got}`` (for a model validator; ``at`` extends the path)."""
    got_text = _secret_shown(got) if secret else shown(got)
    return PydanticCustomError(
        "expected", "expected {expected}", {"expected": what, "got": got_text, "at": at}
    )


def problem(message: str, *, at: str | None = None) -> PydanticCustomError:
    """``{path}: {message}``: a rule across fields (``at`` extends the path)."""
    return PydanticCustomError("problem", "{message}", {"message": message, "at": at})


def _secret_shown(value: object) -> str:
    return f"one of {len(value)} characters" if isinstance(value, str) else shown(value)


def expect(what: str, *, secret: bool = False) -> WrapValidator:
    """Any failure of the wrapped type itself reads ``expected {what}, got {value}``.

    Failures inside it (an item of a list, a field of an object) keep their own path and words.
    With ``secret``, the value is never repeated (only its length).
    """

    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError as err:
            if any(e["loc"] for e in err.errors()):
                raise
            got = _secret_shown(value) if secret else shown(value)
            raise PydanticCustomError(
                "expected", "expected {expected}", {"expected": what, "got": got}
            ) from None

    return WrapValidator(wrap)


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def number(lo: float, hi: float, **field: Any) -> Any:
    """A finite number in ``[lo, hi]`` (an integer is a number; a string or boolean is not)."""
    return Annotated[float, Field(ge=lo, le=hi, **field), expect(f"a number in [{lo:g}, {hi:g}]")]


def whole(lo: int, hi: int, **field: Any) -> Any:
    """A whole number in ``[lo, hi]``; ``5.0`` counts as 5 (JSON does not tell them apart)."""
    return Annotated[
        int,
        Field(ge=lo, le=hi, **field),
        BeforeValidator(_integral),
        expect(f"a whole number in [{lo}, {hi}]"),
    ]


#: ``true`` or ``false`` (not 1, not "yes").
Flag = Annotated[bool, expect("true or false")]


class Body(BaseModel):
    # (a comment, not a docstring: a model's docstring is its description in the OpenAPI document)
    # A JSON request body: strict types (no "5" for 5, no 1 for true), finite numbers, unknown
    # fields refused unless a model says extra="ignore", and a missing field named with what it
    # should be (its description).

    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_and_present(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # pydantic's own error: expected an object
        if cls.model_config.get("extra") == "forbid":
            unknown = sorted(set(data) - set(cls.model_fields), key=str)
            if unknown:
                raise PydanticCustomError(
                    "unknown_field",
                    "unknown field {field}",
                    {"field": str(unknown[0]), "allowed": ", ".join(cls.model_fields)},
                )
        for name, info in cls.model_fields.items():
            if info.is_required() and name not in data:
                raise PydanticCustomError(
                    "required",
                    "{field} is required",
                    {"field": name, "what": info.description or ""},
                )
        return data


def _join(path: str, name: str | None) -> str:
    if not name:
        return path
    return f"{path}.{name}" if path else name


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, str(part))
    return out


def _problem(error: ErrorDetails) -> str:
    path = _path(error["loc"])
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    if kind == "expected":
        got = ctx.get("got") or shown(error.get("input"))
        return f"{_join(path, ctx.get('at')) or 'body'}: expected {ctx['expected']}, got {got}"
    if kind == "problem":
        return f"{_join(path, ctx.get('at')) or 'body'}: {ctx['message']}"
    if kind == "unknown_field":
        return f"unknown field {_join(path, ctx['field'])}: expected one of {ctx['allowed']}"
    if kind == "required":
        what = f": {ctx['what']}" if ctx.get("what") else ""
        return f"{_join(path, ctx['field'])} is required{what}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{path or 'body'}: expected a JSON object, got {shown(error.get('input'))}"
    message = error["msg"][:1].lower() + error["msg"][1:]
    return f"{path or 'body'}: {message}, got {shown(error.get('input'))}"


def describe(err: ValidationError) -> str:
    """One message for every problem pydantic found (at most :data:`MAX_PROBLEMS`)."""
    problems = list(dict.fromkeys(_problem(e) for e in err.errors(include_url=False)))
    more = len(problems) - MAX_PROBLEMS
    text = "; ".join(problems[:MAX_PROBLEMS])
    return text + (f"; and {more} more" if more > 0 else "")


def parse(model: type[M], data: Any, *, context: dict[str, Any] | None = None) -> M:
    """``data`` validated as ``model``, else :class:`InvalidParameter` (400) naming each field."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        raise InvalidParameter(describe(err)) from None


class SchemaGenerator(GenerateJsonSchema):
    """JSON Schema of the models for the OpenAPI document: no generated per-field titles, and
    keys in the order written (examples read as in the code, and in the Postman requests)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def sort(self, value: Any, parent_key: str | None = None) -> Any:
        return value
