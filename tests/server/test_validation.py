"""Request bodies through pydantic: messages name the field, the bad value and what was expected,
and a secret is never repeated."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import ConfigDict, Field, model_validator

from server.errors import InvalidParameter
from server.validation import Body, Flag, expect, expected, number, parse, problem, whole

Secret = Annotated[
    str, Field(min_length=16), expect("a string of 16 characters or more", secret=True)
]


class Inner(Body):
    level: Annotated[str, Field(pattern=r"^(red|critical)$"), expect("'red' or 'critical'")]
    to: Annotated[
        list[Annotated[str, Field(pattern=r"^\+\d+$"), expect("phone number")]],
        Field(max_length=2),
        expect("a list of at most 2 phone numbers"),
    ] = []


class Outer(Body):
    name: str = Field(description="a name such as 'A'")
    on: Flag = True
    ratio: number(0.5, 2) = 1.0
    count: whole(1, 10) = 1
    inner: Inner | None = None
    secret: Secret | None = None

    @model_validator(mode="after")
    def _rule(self) -> Outer:
        if self.count > 5 and not self.on:
            raise problem("more than 5 needs on", at="count")
        if self.count == 7:
            raise expected("anything but 7", got=7, at="count")
        return self


class Loose(Body):
    model_config = ConfigDict(extra="ignore")
    name: str


def message(data: object, model: type[Body] = Outer) -> str:
    with pytest.raises(InvalidParameter) as err:
        parse(model, data)
    return err.value.message


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({}, "name is required: a name such as 'A'"),
        ({"name": "A", "colour": 1}, "unknown field colour: expected one of name, on, ratio"),
        ({"name": "A", "inner": {"level": "red", "x": 1}}, "unknown field inner.x: expected one"),
        ({"name": "A", "inner": {}}, "inner.level is required"),
        ({"name": "A", "on": 1}, "on: expected true or false, got 1"),
        ({"name": "A", "on": "true"}, "on: expected true or false, got 'true'"),
        ({"name": "A", "ratio": 3}, r"ratio: expected a number in [0.5, 2], got 3"),
        ({"name": "A", "ratio": "1"}, "ratio: expected a number in [0.5, 2], got '1'"),
        ({"name": "A", "ratio": float("nan")}, "ratio: expected a number in [0.5, 2], got nan"),
        ({"name": "A", "ratio": True}, "ratio: expected a number in [0.5, 2], got True"),
        ({"name": "A", "count": 2.5}, "count: expected a whole number in [1, 10], got 2.5"),
        ({"name": "A", "count": "3"}, "count: expected a whole number in [1, 10], got '3'"),
        ({"name": "A", "inner": []}, "inner: expected a JSON object, got []"),
        (
            {"name": "A", "inner": {"level": "x"}},
            "inner.level: expected 'red' or 'critical', got 'x'",
        ),
        (
            {"name": "A", "inner": {"level": "red", "to": ["+1", "2"]}},
            "inner.to[1]: expected phone",
        ),
        (
            {"name": "A", "inner": {"level": "red", "to": ["+1"] * 3}},
            "inner.to: expected a list of",
        ),
        ({"name": "A", "count": 6, "on": False}, "count: more than 5 needs on"),
        ({"name": "A", "count": 7}, "count: expected anything but 7, got 7"),
        ([1], "body: expected a JSON object, got [1]"),
    ],
)
def test_messages_name_the_field_the_value_and_what_was_expected(data, text):
    assert text in message(data)


def test_every_problem_is_listed_up_to_five():
    text = message({"name": 1, "on": 0, "ratio": 0, "count": 0, "inner": 1, "secret": 1})
    assert text.startswith("name: input should be a valid string, got 1; on: expected true")
    assert text.endswith("; and 1 more")
    assert text.count(";") == 5


def test_a_secret_is_never_repeated():
    text = message({"name": "A", "secret": "hunter2-oops"})
    assert text == "secret: expected a string of 16 characters or more, got one of 12 characters"
    assert "hunter2" not in text


def test_whole_numbers_written_as_decimals_count_and_unknown_fields_may_be_ignored():
    assert parse(Outer, {"name": "A", "count": 5.0}).count == 5
    assert parse(Loose, {"name": "A", "other": 1}).name == "A"
