"""Questionnaires as data: loading the form files into versions, and which form a unit uses.

A form file whose content changes becomes a new version (versions are immutable: stored
responses point at the one they answered). The form a unit uses is its own ``form_code`` or,
without one, the ``SKM_DEFAULT_FORM`` setting.
"""

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.config import get_settings
from app.core.forms import Form, load_forms, parse_form
from app.db import upsert
from app.errors import InvalidInput, NotFound
from app.models import FormVersion, Unit


def default_form_code() -> str:
    """The questionnaire of every unit that names none (setting ``SKM_DEFAULT_FORM``)."""
    return get_settings().default_form


def sync_forms(*, session: Session, forms_dir: Path) -> int:
    """Store every form file whose content is new as a new form version; returns how many."""
    added = 0
    for form in load_forms(forms_dir).values():
        stmt = (
            upsert(session, FormVersion)
            .values(
                code=form.code,
                content_hash=form.content_hash(),
                element_codes=",".join(form.element_codes),
                definition=form.model_dump(mode="json"),
                created_at=datetime.now().astimezone(),
            )
            .on_conflict_do_nothing(index_elements=["content_hash"])
            .returning(col(FormVersion.id))
        )
        # Counted from RETURNING: psycopg reports rowcount -1 for this statement.
        added += len(session.execute(stmt).all())
    session.commit()
    return added


def _unknown(session: Session, code: str) -> str:
    known = sorted(set(session.exec(select(FormVersion.code)).all()))
    return f"unknown form {code!r}; known forms: {', '.join(known) or 'none'}"


def check_form_code(*, session: Session, code: str, loc: Sequence[str | int] = ()) -> str:
    """``code`` if a version of that form is stored; otherwise a 422 naming the known forms
    (a client chose it, unlike the default form of :func:`current_form`)."""
    if session.exec(select(FormVersion.id).where(FormVersion.code == code)).first() is None:
        raise InvalidInput(_unknown(session, code), loc=loc)
    return code


# Built once (every submission runs it): the newest version's id and hash only, in Core (an
# ORM load of the version cost several times the statement).
_versions = FormVersion.__table__.c  # type: ignore[attr-defined]
_NEWEST = (
    sa.select(_versions.id, _versions.content_hash)
    .where(_versions.code == sa.bindparam("code"))
    .order_by(_versions.id.desc())
    .limit(1)
)
_VERSION = sa.select(*_versions).where(_versions.id == sa.bindparam("id"))


def current_form(*, session: Session, code: str | None = None) -> tuple[FormVersion, Form]:
    """The newest stored version of a form (by default the default form) and its definition.
    The version is a copy no session holds (see ``_known``): read it, do not change it."""
    code = code or default_form_code()
    newest = session.execute(_NEWEST, {"code": code}).first()
    if newest is None:
        raise NotFound(_unknown(session, code))
    return _form_of(session, newest.id, newest.content_hash)


def _form_of(session: Session, version_id: int, content_hash: str) -> tuple[FormVersion, Form]:
    key = (version_id, content_hash)
    found = _known.get(key)
    if found is None:
        row = session.execute(_VERSION, {"id": version_id}).one()
        version = FormVersion(**row._mapping)
        found = _known[key] = (version, version_form(version))
    return found


def newest_of_unit_form() -> tuple[sa.ScalarSelect[int], sa.ScalarSelect[str]]:
    """Columns naming the newest version (id, content hash) of the form of the ``Unit`` in
    the enclosing query, to read it with the unit in one statement (the busiest routes do);
    bind ``default_form`` (:func:`default_form_code`) when running it, and pass the two
    values to :func:`form_from_columns`."""
    code = sa.func.coalesce(col(Unit.form_code), sa.bindparam("default_form"))
    newest = (
        sa.select(_versions.id, _versions.content_hash)
        .where(_versions.code == code)
        .order_by(_versions.id.desc())
        .limit(1)
    )
    return (
        newest.with_only_columns(_versions.id).scalar_subquery(),
        newest.with_only_columns(_versions.content_hash).scalar_subquery(),
    )


_UNIT_WITH_FORM = sa.select(Unit, *newest_of_unit_form()).where(
    col(Unit.code) == sa.bindparam("code")
)


def unit_with_form(*, session: Session, code: str) -> tuple[Unit, tuple[FormVersion, Form]] | None:
    """The unit with this (stored, lower-case) code and its form's newest version, in one
    statement; None for an unknown code."""
    found = session.execute(
        _UNIT_WITH_FORM, {"code": code, "default_form": default_form_code()}
    ).first()
    if found is None:
        return None
    unit, version_id, content_hash = found
    return unit, form_from_columns(session, unit, version_id, content_hash)


def form_from_columns(
    session: Session, unit: Unit, version_id: int | None, content_hash: str | None
) -> tuple[FormVersion, Form]:
    """The unit's form from the columns of :func:`newest_of_unit_form` (as
    :func:`unit_form` would find it, without its query)."""
    if version_id is None or content_hash is None:
        return unit_form(session=session, unit=unit)  # no such form: its error
    return _form_of(session, version_id, content_hash)


def unit_form(*, session: Session, unit: Unit) -> tuple[FormVersion, Form]:
    """The current version of the form a unit's survey uses."""
    return current_form(session=session, code=unit.form_code)


# Parsed definitions by content hash. A version is immutable and its hash names its content
# (in any database), so a process may keep what it parsed; there are only a few versions.
_parsed: dict[str, Form] = {}
# Versions read, by id and hash (an id alone could name another version in another database,
# such as a test's own), with their parsed definitions, for the same reason.
_known: dict[tuple[int, str], tuple[FormVersion, Form]] = {}


def version_form(version: FormVersion) -> Form:
    """The parsed definition of a stored form version."""
    form = _parsed.get(version.content_hash)
    if form is None:
        form = _parsed[version.content_hash] = parse_form(
            version.definition, f"form_version {version.id}"
        )
    return form
