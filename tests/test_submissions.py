"""Recording responses: replays, all-or-nothing batches, database checks, rollups."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.core.periods import parse_period
from app.errors import InvalidInput
from app.models import TIME_ZONES, Channel, Response
from app.services import intake, rollups, scopes
from tests.factories import CODES, make_unit, response, rollup_sums

JAN = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Response)).one()


def test_record_responses_replay_stores_nothing_new(session: Session) -> None:
    unit = make_unit(session)
    items = [response((4,) * 9, JAN, key="k-1"), response((3,) * 9, JAN, key="k-2")]
    first = intake.record_responses(session=session, unit=unit, items=items, channel="api")
    again = intake.record_responses(session=session, unit=unit, items=items, channel="api")
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (again.inserted, again.duplicates) == (0, 2)
    scope = scopes.Scope(unit=unit, period=parse_period("2026"))
    tally = rollups.tally(session=session, scope=scope)
    assert tally is not None
    assert tally.responses == 2
    assert tally.sums == (7,) * 9


@pytest.mark.parametrize(
    ("answers", "profile", "message"),
    [
        ((5, 4, 4, 4, 4, 4, 4, 4, 4), {}, "answer 5 for persyaratan is not 1..4"),
        ((0, 4, 4, 4, 4, 4, 4, 4, 4), {}, "answer 0 for persyaratan is not 1..4"),
        ((4,) * 9, {"sex": "X"}, "sex 'X' is not allowed"),
        ((4,) * 9, {"age": 300}, "age 300 is not allowed"),
    ],
)
def test_record_responses_bad_input_writes_nothing(
    session: Session, answers: tuple[int, ...], profile: dict[str, object], message: str
) -> None:
    unit = make_unit(session)
    good = response((4,) * 9, JAN)
    bad = response(answers, JAN).model_copy(update=profile)
    before = _count(session)
    with pytest.raises(InvalidInput, match=message):
        intake.record_responses(session=session, unit=unit, items=[good, bad], channel="api")
    assert _count(session) == before


def test_record_responses_refuses_a_key_twice_in_one_batch(session: Session) -> None:
    unit = make_unit(session)
    items = [response((4,) * 9, JAN, key="k-1"), response((4,) * 9, JAN, key="k-1")]
    before, rollups = _count(session), rollup_sums(session)
    with pytest.raises(InvalidInput, match="more than once in the batch"):
        intake.record_responses(session=session, unit=unit, items=items, channel="api")
    assert (_count(session), rollup_sums(session)) == (before, rollups)


def test_record_responses_unknown_element_rejected(session: Session) -> None:
    unit = make_unit(session)
    item = response((4,) * 9, JAN).model_copy(update={"answers": {"sarana": 4, "nope": 3}})
    with pytest.raises(InvalidInput, match="unknown element"):
        intake.record_responses(session=session, unit=unit, items=[item], channel="api")


def test_response_answer_check_constraint_enforced_by_database(session: Session) -> None:
    unit = make_unit(session)
    intake.record_responses(
        session=session, unit=unit, items=[response((4,) * 9, JAN)], channel="api"
    )
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(sa.update(Response).where(col(Response.unit_id) == unit.id).values(a1=5))


def test_rebuild_rollups_reproduces_incremental_rollups(session: Session) -> None:
    rng = random.Random(7)
    units = [make_unit(session, tz=tz) for tz in ("WIB", "WITA", "WIT")]
    for unit in units:
        items = [
            response(
                tuple(rng.choice([None, 1, 2, 3, 4]) for _ in CODES),
                JAN + timedelta(hours=rng.randint(0, 2000)),
            )
            for _ in range(30)
        ]
        intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    before = rollup_sums(session)
    rollups.rebuild(session=session)
    assert rollup_sums(session) == before


def test_local_noon_is_noon_in_each_indonesian_zone() -> None:
    day = date(2026, 5, 14)
    assert [
        intake.local_noon(day, ZoneInfo(z)).astimezone(UTC).hour for z in TIME_ZONES.values()
    ] == [
        5,
        4,
        3,
    ]


def test_record_responses_dates_a_date_only_response_at_local_noon(session: Session) -> None:
    unit = make_unit(session, tz="WIB")
    item = response((4,) * 9, JAN).model_copy(update={"submitted_at": date(2026, 5, 14)})
    intake.record_responses(session=session, unit=unit, items=[item], channel="paper")
    stored = session.exec(select(Response).where(col(Response.unit_id) == unit.id)).one()
    assert (stored.submitted_at, stored.local_date) == (
        datetime(2026, 5, 14, 5, tzinfo=UTC),
        date(2026, 5, 14),
    )


@pytest.mark.parametrize(
    ("channel", "answers", "message"),
    [
        ("paper", (None,) * 9, "response 2: no element is answered"),
        ("qr", (None,) * 9, "response 2: no element is answered"),
        (
            "qr",
            (4, None, 4, 4, 4, 4, 4, 4, None),
            "response 2: element\\(s\\) prosedur, sarana not answered; only the paper channel",
        ),
        ("kiosk", (4, 4, 4, 4, 4, 4, 4, 4, None), "element\\(s\\) sarana not answered"),
        ("api", (4, 4, 4, 4, 4, 4, 4, 4, None), "element\\(s\\) sarana not answered"),
    ],
)
def test_record_responses_refuses_empty_and_partial_questionnaires(
    session: Session, channel: Channel, answers: tuple[int | None, ...], message: str
) -> None:
    unit = make_unit(session)
    items = [response((4,) * 9, JAN), response(answers, JAN)]
    before = _count(session)
    with pytest.raises(InvalidInput, match=message) as refused:
        intake.record_responses(session=session, unit=unit, items=items, channel=channel)
    assert refused.value.loc == ("responses", 1, "answers")
    assert _count(session) == before


def test_record_responses_keeps_paper_blanks(session: Session) -> None:
    unit = make_unit(session)
    items = [response((4, None, 4, 4, 4, 4, 4, 4, None), JAN)]
    result = intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    assert result.inserted == 1


def test_a_batch_stores_each_column_as_one_response_alone_would(session: Session) -> None:
    """Many rows go in as one statement of column arrays on PostgreSQL, one alone as a plain
    insert: the stored rows must be the same, column for column (blanks, profile, saran,
    times, the answer columns the form does not use)."""
    unit = make_unit(session)
    zone = ZoneInfo("Asia/Makassar")
    items = [
        response((4, 3, None, 2, 1, 4, 3, 2, 1), JAN).model_copy(
            update={"sex": "P", "age": 41, "suggestion": "Antrean panjang; “kursi” kurang"}
        ),
        response((1,) * 9, datetime(2026, 2, 1, 23, 30, tzinfo=zone)),
        response((None, 2, 2, 2, 2, 2, 2, 2, None), date(2026, 3, 3)),  # type: ignore[arg-type]
    ]
    alone = [i.model_copy(update={"idempotency_key": f"alone-{n}"}) for n, i in enumerate(items)]
    together = [i.model_copy(update={"idempotency_key": f"many-{n}"}) for n, i in enumerate(items)]
    for item in alone:
        intake.record_responses(session=session, unit=unit, items=[item], channel="paper")
    intake.record_responses(session=session, unit=unit, items=together, channel="paper")
    skip = {"id", "idempotency_key", "body_hash", "recorded_at"}

    def stored(prefix: str) -> list[dict[str, object]]:
        rows = session.exec(
            select(Response)
            .where(col(Response.idempotency_key).startswith(prefix))
            .order_by(col(Response.idempotency_key))
        ).all()
        return [{k: v for k, v in r.model_dump().items() if k not in skip} for r in rows]

    assert stored("many-") == stored("alone-")
    assert [r["a3"] for r in stored("many-")] == [None, 1, 2]
    assert stored("many-")[0]["suggestion"] == "Antrean panjang; “kursi” kurang"
    assert {r["a10"] for r in stored("many-")} == {None}
