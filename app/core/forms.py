"""Questionnaire definitions (``survey_forms/*.yaml``): parsing and validation, no I/O beyond
reading the files.

A form is data: its elements (unsur) with stable codes, question texts and the four answer
labels in Bahasa Indonesia and English, and the optional respondent profile block. A form file
that breaks the schema is refused with an error naming the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# The response table stores answers positionally in this many columns (the 2004 form has 14).
MAX_ELEMENTS = 14
PROFILE_FIELDS = ("sex", "age", "education", "occupation")
CODE_PATTERN = r"^[a-z][a-z0-9_]*$"


class FormError(ValueError):
    """A form file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A text in Bahasa Indonesia (``id``, shown by default) and English (``en``)."""

    id: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class Element(_Strict):
    code: Annotated[str, Field(pattern=CODE_PATTERN, max_length=40)]
    name: Text
    question: Text
    answers: Annotated[tuple[Text, Text, Text, Text], Field(description="labels of 1, 2, 3, 4")]


class Option(_Strict):
    value: Annotated[str, Field(min_length=1, max_length=20)]
    label: Text


class ProfileField(_Strict):
    code: Literal["sex", "age", "education", "occupation"]
    label: Text
    type: Literal["choice", "integer"]
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _options_fit_type(self) -> ProfileField:
        if self.type == "choice" and not self.options:
            raise ValueError("a choice field needs options")
        if self.type == "integer" and (self.options or self.min is None or self.max is None):
            raise ValueError("an integer field needs min and max and no options")
        if len({o.value for o in self.options}) != len(self.options):
            raise ValueError("option values must be distinct")
        return self

    def accepts(self, value: str | int) -> bool:
        if self.type == "integer":
            assert self.min is not None and self.max is not None  # checked on load
            return isinstance(value, int) and self.min <= value <= self.max
        return value in {o.value for o in self.options}


class Form(_Strict):
    """One questionnaire; ``elements`` are in the order the form prints them."""

    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]
    title: Text
    regulation: Text
    interval_table: Literal["2017", "2004"]
    elements: Annotated[tuple[Element, ...], Field(min_length=1, max_length=MAX_ELEMENTS)]
    profile: tuple[ProfileField, ...] = ()

    @field_validator("elements")
    @classmethod
    def _distinct_codes(cls, elements: tuple[Element, ...]) -> tuple[Element, ...]:
        codes = [e.code for e in elements]
        if len(set(codes)) != len(codes):
            raise ValueError(f"element codes must be distinct: {codes}")
        return elements

    @field_validator("profile")
    @classmethod
    def _distinct_profile(cls, profile: tuple[ProfileField, ...]) -> tuple[ProfileField, ...]:
        codes = [p.code for p in profile]
        if len(set(codes)) != len(codes):
            raise ValueError(f"profile fields must be distinct: {codes}")
        return profile

    @property
    def element_codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.elements)

    def profile_field(self, code: str) -> ProfileField | None:
        return next((p for p in self.profile if p.code == code), None)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the definition: a new hash is a new form version."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_form(data: Any, source: str) -> Form:
    """Validate parsed YAML/JSON as a form; errors name ``source`` and the field path."""
    try:
        return Form.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise FormError(f"{source}: {where}: {first['msg']}{more}") from None


def load_form_file(path: Path) -> Form:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FormError(f"{path}: cannot be read as YAML: {_one_line(exc)}") from None
    form = parse_form(data, str(path))
    if form.code != path.stem:
        raise FormError(f"{path}: code: {form.code!r} must equal the file name {path.stem!r}")
    return form


def load_forms(directory: Path) -> dict[str, Form]:
    """Every ``*.yaml`` / ``*.json`` form in a directory, by code."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.json")])
    if not files:
        raise FormError(f"{directory}: no form files (*.yaml) found")
    return {form.code: form for form in map(load_form_file, files)}


def _one_line(exc: Exception) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip()
