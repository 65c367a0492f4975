"""Pooling the rollups of several form versions: by element code, or refused when the
element sets differ."""

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
from sqlmodel import Session

from app.core import ikm
from app.core.periods import parse_period
from app.errors import Conflict
from app.models import FormVersion
from app.services import intake, questionnaires, results, scopes
from tests.factories import CODES, make_unit


def _item(key: str, answers: dict[str, int], when: datetime) -> intake.ResponseIn:
    return intake.ResponseIn(idempotency_key=key, submitted_at=when, answers=answers)


def _reordered_version(session: Session) -> FormVersion:
    """A newer version of the standard form that asks the same elements in reverse order."""
    current, form = questionnaires.current_form(session=session, code="permenpan-rb-14-2017")
    definition = dict(current.definition)
    definition["elements"] = list(reversed(definition["elements"]))
    version = FormVersion(
        code=current.code,
        content_hash="reordered-" + current.content_hash[:40],
        element_codes=",".join(reversed(form.element_codes)),
        definition=definition,
    )
    session.add(version)
    session.commit()
    return version


def test_pool_matches_reordered_versions_by_element_code(session: Session) -> None:
    unit = make_unit(session)
    # Before the new version: persyaratan 4 and sarana 1, the rest 3.
    before = dict.fromkeys(CODES, 3) | {"persyaratan": 4, "sarana": 1}
    after = dict.fromkeys(CODES, 2) | {"persyaratan": 2, "sarana": 4}
    jan, jul = datetime(2026, 1, 5, 3, tzinfo=UTC), datetime(2026, 7, 5, 3, tzinfo=UTC)
    intake.record_responses(
        session=session, unit=unit, channel="api", items=[_item("old", before, jan)]
    )
    version = _reordered_version(session)
    intake.record_responses(
        session=session, unit=unit, channel="api", items=[_item("new", after, jul)]
    )
    scope = scopes.Scope(unit=unit, period=parse_period("2026"))
    result = results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
    # Shown in the newest version's order; each NRR averages the same element's answers.
    assert version.codes[0] == "sarana"
    assert [(e.code, e.n, e.nrr) for e in result.elements] == [
        (code, 2, Fraction(before[code] + after[code], 2)) for code in version.codes
    ]


def test_pool_refuses_different_element_sets_naming_forms_and_dates(session: Session) -> None:
    unit = make_unit(session)
    old = dict.fromkeys((*CODES[:8], "maklumat"), 3)
    intake.record_responses(
        session=session,
        unit=unit,
        channel="paper",
        form_code="permenpan-rb-16-2014",
        items=[
            _item("a", old, datetime(2026, 1, 10, 3, tzinfo=UTC)),
            _item("b", old, datetime(2026, 3, 31, 3, tzinfo=UTC)),
        ],
    )
    intake.record_responses(
        session=session,
        unit=unit,
        channel="paper",
        items=[
            _item("c", dict.fromkeys(CODES, 4), datetime(2026, 4, 1, 3, tzinfo=UTC)),
            _item("d", dict.fromkeys(CODES, 4), datetime(2026, 6, 30, 3, tzinfo=UTC)),
        ],
    )
    v2014, _ = questionnaires.current_form(session=session, code="permenpan-rb-16-2014")
    v2017, _ = questionnaires.current_form(session=session, code="permenpan-rb-14-2017")
    scope = scopes.Scope(unit=unit, period=parse_period("2026"))
    with pytest.raises(Conflict) as refused:
        results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
    assert refused.value.detail == (
        "the responses in this scope were answered on forms with different elements, which "
        f"have no single IKM: permenpan-rb-16-2014 (version {v2014.id}, 9 elements) from "
        f"{date(2026, 1, 10)} to {date(2026, 3, 31)}; permenpan-rb-14-2017 (version "
        f"{v2017.id}, 9 elements) from {date(2026, 4, 1)} to {date(2026, 6, 30)}. Compute "
        "the periods on each side of where they meet separately"
    )
    assert refused.value.status == 409
    # Each side of the change has its IKM.
    quarter = scopes.Scope(unit=unit, period=parse_period("2026-Q2"))
    result = results.scope_ikm(session=session, scope=quarter, method=ikm.DEFAULT_METHOD)
    assert (result.n, result.nik_rounded) == (2, ikm.to_decimal(Fraction(100), 2))
