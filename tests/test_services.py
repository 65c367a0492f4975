from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col

from app.config import REPO_ROOT
from app.core import ikm
from app.core.periods import parse_period
from app.db import store_new
from app.errors import Conflict, InvalidInput, NotFound
from app.models import ServiceCreate, Unit, UnitCreate, UnitUpdate
from app.services import intake, org, questionnaires, results, rollups, scopes
from tests.conftest import StatementLog
from tests.factories import make_unit, response

JAN = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def test_create_unit_duplicate_code_conflicts(session: Session) -> None:
    unit = make_unit(session)
    with pytest.raises(Conflict, match="already exists"):
        org.create_unit(
            session=session, data=UnitCreate(code=unit.code, name="Again", time_zone="WIB")
        )


def test_create_unit_unknown_parent_not_found(session: Session) -> None:
    data = UnitCreate(code="orphan", name="Orphan", parent_code="no-such-unit")
    with pytest.raises(NotFound, match="no-such-unit"):
        org.create_unit(session=session, data=data)


def test_create_unit_time_zone_aliases_and_no_default() -> None:
    assert UnitCreate(code="x", name="X").time_zone is None
    assert UnitCreate(code="x", name="X", time_zone="wib").time_zone == "Asia/Jakarta"
    assert UnitCreate(code="x", name="X", time_zone="WIT").time_zone == "Asia/Jayapura"


def test_create_unit_takes_the_parents_zone_and_refuses_none_at_the_top(
    session: Session,
) -> None:
    parent = make_unit(session, tz="WIT")
    child = org.create_unit(
        session=session, data=UnitCreate(code="anak", name="Anak", parent_code=parent.code)
    )
    assert child.time_zone == "Asia/Jayapura"
    with pytest.raises(InvalidInput) as refused:
        org.create_unit(session=session, data=UnitCreate(code="atas", name="Atas"))
    assert refused.value.detail == (
        "time_zone is required for a unit at the top of the tree: WIB, WITA or WIT "
        "(a unit with a parent takes its parent's)"
    )


def test_create_unit_rejects_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="WIB, WITA or WIT"):
        UnitCreate(code="x", name="X", time_zone="Europe/Paris")


def test_unit_tree_orders_parents_before_children(session: Session) -> None:
    root = make_unit(session)
    child = make_unit(session, parent=root)
    grandchild = make_unit(session, parent=child)
    tree = [(u.code, depth) for u, depth in org.unit_tree(session=session)]
    assert tree.index((root.code, 0)) < tree.index((child.code, 1))
    assert tree.index((child.code, 1)) < tree.index((grandchild.code, 2))


def test_period_uses_the_unit_time_zone(session: Session) -> None:
    # 16:30 UTC on 30 June is 23:30 WIB (still June) but 00:30 WITA (already July).
    when = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)
    wib, wita = make_unit(session, tz="WIB"), make_unit(session, tz="WITA")
    for unit in (wib, wita):
        intake.record_responses(
            session=session, unit=unit, items=[response((4,) * 9, when)], channel="qr"
        )
    s1, s2 = parse_period("2026-S1"), parse_period("2026-S2")
    assert rollups.tally(session=session, scope=scopes.Scope(unit=wib, period=s1)) is not None
    assert rollups.tally(session=session, scope=scopes.Scope(unit=wib, period=s2)) is None
    assert rollups.tally(session=session, scope=scopes.Scope(unit=wita, period=s1)) is None
    assert rollups.tally(session=session, scope=scopes.Scope(unit=wita, period=s2)) is not None


def test_scope_ikm_pools_children_by_sums_not_averages(session: Session) -> None:
    root = make_unit(session)
    big, small = make_unit(session, parent=root), make_unit(session, parent=root)
    intake.record_responses(
        session=session, unit=big, channel="qr", items=[response((4,) * 9, JAN) for _ in range(3)]
    )
    intake.record_responses(
        session=session, unit=small, channel="qr", items=[response((1,) * 9, JAN)]
    )
    scope = scopes.Scope(unit=root, period=parse_period("2026"), include_children=True)
    result = results.scope_ikm(session=session, scope=scope, method=ikm.Method())
    # (3 x 4 + 1 x 1) / 4 = 3.25 -> 81.25; averaging the two units' IKMs would give 62.50.
    assert result.n == 4
    assert result.nik_rounded is not None and str(result.nik_rounded) == "81.25"
    alone = scopes.Scope(unit=root, period=parse_period("2026"), include_children=False)
    assert results.scope_ikm(session=session, scope=alone, method=ikm.Method()).n == 0


def test_scope_ikm_filters_service_and_counter(session: Session) -> None:
    unit = make_unit(session)
    ktp = org.create_service(
        session=session, data=ServiceCreate(unit_code=unit.code, code="ktp", name="KTP-el")
    )
    intake.record_responses(
        session=session, unit=unit, channel="qr", service=ktp, items=[response((4,) * 9, JAN)]
    )
    intake.record_responses(
        session=session, unit=unit, channel="qr", items=[response((2,) * 9, JAN)]
    )
    period = parse_period("2026-Q1")
    by_service = scopes.Scope(unit=unit, period=period, service=ktp)
    assert results.scope_ikm(session=session, scope=by_service, method=ikm.Method()).n == 1
    everything = scopes.Scope(unit=unit, period=period)
    assert results.scope_ikm(session=session, scope=everything, method=ikm.Method()).n == 2


def test_scope_ikm_reports_sample_adequacy(session: Session) -> None:
    unit = make_unit(session)
    period = parse_period("2026")
    org.set_population(session=session, unit=unit, period=period, population=100)
    intake.record_responses(
        session=session,
        unit=unit,
        channel="paper",
        items=[response((3,) * 9, JAN) for _ in range(5)],
    )
    result = results.scope_ikm(
        session=session, scope=scopes.Scope(unit=unit, period=period), method=ikm.Method()
    )
    assert result.sample is not None
    assert (result.sample.minimum, result.sample.n, result.sample.verdict) == (
        80,
        5,
        "belum memenuhi",
    )


def test_tally_mixed_element_sets_conflict(session: Session) -> None:
    unit = make_unit(session)
    intake.record_responses(
        session=session, unit=unit, channel="paper", items=[response((3,) * 9, JAN)]
    )
    legacy = intake.ResponseIn(
        idempotency_key="legacy-1", submitted_at=JAN, answers={"prosedur": 3, "keamanan": 4}
    )
    intake.record_responses(
        session=session, unit=unit, channel="paper", items=[legacy], form_code="kepmenpan-25-2004"
    )
    with pytest.raises(Conflict, match="different elements"):
        rollups.tally(session=session, scope=scopes.Scope(unit=unit, period=parse_period("2026")))


def test_current_form_unknown_code_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown form 'nope'"):
        questionnaires.current_form(session=session, code="nope")


def test_ranking_equals_each_childs_own_ikm(session: Session) -> None:
    root = make_unit(session)
    first, second, empty = (make_unit(session, parent=root) for _ in range(3))
    grandchild = make_unit(session, parent=second)
    period = parse_period("2026-Q1")
    org.set_population(session=session, unit=first, period=period, population=500)
    when = datetime(2026, 2, 1, 3, tzinfo=UTC)
    for unit, rows in (
        (first, [(4, 3, 2, 4, 3, 3, 4, 3, 4), (3, 3, 3, 4, None, 4, 4, 2, 3)]),
        (second, [(2, 2, 2, 2, 2, 2, 2, 2, 2)]),
        (grandchild, [(4, 4, 4, 4, 4, 4, 4, 4, 1), (1, 2, 3, 4, 1, 2, 3, 4, 1)]),
        (root, [(1, 1, 1, 1, 1, 1, 1, 1, 1)]),  # the parent's own responses rank nowhere
    ):
        items = [response(r, when) for r in rows]
        intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    method = ikm.Method(weight="0.111")
    ranked = results.ranking(session=session, parent=root, period=period, method=method)
    assert [u.code for u, _ in ranked] == sorted(u.code for u in (first, second, empty))
    for child, result in ranked:
        scope = scopes.Scope(unit=child, period=period, include_children=True)
        assert result == results.scope_ikm(session=session, scope=scope, method=method)
    assert {u.code: r.n for u, r in ranked} == {first.code: 2, second.code: 3, empty.code: 0}


def test_a_code_taken_between_check_and_commit_is_a_conflict(session: Session) -> None:
    unit = make_unit(session)
    # What a concurrent request that won the race leaves: the check passed, the index refuses.
    twin = Unit(code=unit.code, name="Kembar", time_zone="Asia/Jakarta")
    with pytest.raises(Conflict, match="already exists"):
        store_new(session, twin, f"a unit with code {unit.code!r} already exists")
    assert org.get_unit(session=session, code=unit.code).name == unit.name


def test_a_loop_in_the_tree_cannot_hang_a_pooled_query(session: Session) -> None:
    first = make_unit(session)
    second = make_unit(session, parent=first)
    intake.record_responses(
        session=session, unit=second, items=[response((4,) * 9, JAN)], channel="paper"
    )
    # Two moves racing on an older version could close a loop; make one by hand.
    session.execute(sa.update(Unit).where(col(Unit.id) == first.id).values(parent_id=second.id))
    session.commit()
    scope = scopes.Scope(unit=first, period=parse_period("2026"), include_children=True)
    found = rollups.tally(session=session, scope=scope)
    assert found is not None and found.responses == 1
    with pytest.raises(Conflict, match="cannot move under itself"):
        org.update_unit(session=session, unit=second, data=UnitUpdate(parent_code=first.code))


def test_sync_forms_counts_only_new_versions(session: Session, tmp_path: Path) -> None:
    source = REPO_ROOT / "survey_forms" / f"{questionnaires.default_form_code()}.yaml"
    assert (
        questionnaires.sync_forms(session=session, forms_dir=source.parent) == 0
    )  # loaded already
    edited = source.read_text().replace('title:\n  id: "', 'title:\n  id: "(Revisi) ', 1)
    assert edited != source.read_text()
    (tmp_path / source.name).write_text(edited)
    assert questionnaires.sync_forms(session=session, forms_dir=tmp_path) == 1
    assert questionnaires.sync_forms(session=session, forms_dir=tmp_path) == 0


def test_scope_units_lists_parents_first_and_ends_on_a_loop(session: Session) -> None:
    for code, parent in (
        ("tree-root", None),
        ("tree-b", "tree-root"),
        ("tree-a", "tree-root"),
        ("tree-c", "tree-b"),
    ):
        data = UnitCreate(
            code=code, name=code, parent_code=parent, time_zone=None if parent else "WITA"
        )
        org.create_unit(session=session, data=data)
    root = org.get_unit(session=session, code="tree-root")
    year = parse_period("2026")

    def codes(scope: scopes.Scope) -> list[str]:
        return [u.code for u in scopes.scope_units(session=session, scope=scope)]

    assert codes(scopes.Scope(unit=root, period=year)) == [
        "tree-root",
        "tree-a",
        "tree-b",
        "tree-c",
    ]
    assert codes(scopes.Scope(unit=root, period=year, include_children=False)) == ["tree-root"]
    ktp = org.create_service(
        session=session, data=ServiceCreate(unit_code="tree-root", code="ktp", name="KTP")
    )
    by_service = scopes.Scope(unit=root, period=year, service=ktp)
    assert (by_service.include_children, codes(by_service)) == (False, ["tree-root"])
    leaf = org.get_unit(session=session, code="tree-c")
    session.execute(sa.update(Unit).where(col(Unit.id) == root.id).values(parent_id=leaf.id))
    session.commit()
    assert codes(scopes.Scope(unit=root, period=year)) == [
        "tree-root",
        "tree-a",
        "tree-b",
        "tree-c",
    ]


def test_reach_counts_the_unit_and_the_units_below_it(session: Session) -> None:
    root = make_unit(session)
    child, silent = make_unit(session, parent=root), make_unit(session, parent=root)
    for unit, count in ((root, 1), (child, 3)):
        items = [response((3,) * 9, JAN) for _ in range(count)]
        intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    year = parse_period("2026")
    pooled = scopes.Scope(unit=root, period=year)
    assert rollups.reach(session=session, scope=pooled, periods=[year]) == [
        rollups.Reach(own=1, below_units=1, below=3)
    ]
    result = results.scope_ikm(session=session, scope=pooled, method=ikm.DEFAULT_METHOD)
    assert result.coverage is not None and result.coverage.units_with_responses == 2
    assert silent.code in result.coverage.codes


def test_ordered_reads_select_a_leaf_by_equality(session: Session) -> None:
    root = make_unit(session)
    leaf = make_unit(session, parent=root)
    year = parse_period("2026")
    pooled_leaf = scopes.Scope(unit=leaf, period=year)
    assert scopes.ordered_reads(session=session, scope=pooled_leaf) == scopes.Scope(
        unit=leaf, period=year, include_children=False
    )
    pooled_root = scopes.Scope(unit=root, period=year)
    assert scopes.ordered_reads(session=session, scope=pooled_root) == pooled_root


def test_mean_of_children_says_what_it_leaves_out(session: Session) -> None:
    root = make_unit(session)
    child = make_unit(session, parent=root)
    for unit, value in ((root, 1), (child, 4)):
        items = [response((value,) * 9, JAN)]
        intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    scope = scopes.Scope(unit=root, period=parse_period("2026"))
    mean = results.scope_ikm(
        session=session, scope=scope, method=ikm.DEFAULT_METHOD, aggregate="mean_of_children"
    )
    assert (mean.n, mean.nik) == (1, Fraction(100))
    assert mean.coverage == ikm.Coverage((child.code,), 1)
    assert mean.warnings[-1] == (
        f"1 response(s) of {root.code} itself are not in the mean of its child units"
    )
    ktp = org.create_service(
        session=session, data=ServiceCreate(unit_code=root.code, code="ktp", name="KTP")
    )
    with pytest.raises(InvalidInput, match="not a service or counter"):
        results.scope_ikm(
            session=session,
            scope=scopes.Scope(unit=root, period=parse_period("2026"), service=ktp),
            method=ikm.DEFAULT_METHOD,
            aggregate="mean_of_children",
        )


def test_mean_of_children_on_different_forms_conflicts(session: Session) -> None:
    root = make_unit(session)
    current, legacy = make_unit(session, parent=root), make_unit(session, parent=root)
    intake.record_responses(
        session=session, unit=current, items=[response((3,) * 9, JAN)], channel="paper"
    )
    old = intake.ResponseIn(
        idempotency_key="legacy-1", submitted_at=JAN, answers={"prosedur": 3, "keamanan": 4}
    )
    intake.record_responses(
        session=session, unit=legacy, items=[old], channel="paper", form_code="kepmenpan-25-2004"
    )
    scope = scopes.Scope(unit=root, period=parse_period("2026"))
    with pytest.raises(Conflict, match="the child units cannot be averaged: child results with"):
        results.scope_ikm(
            session=session, scope=scope, method=ikm.DEFAULT_METHOD, aggregate="mean_of_children"
        )


def test_an_empty_scope_lists_the_elements_of_the_units_own_form(session: Session) -> None:
    unit = make_unit(session)
    org.update_unit(session=session, unit=unit, data=UnitUpdate(form_code="kepmenpan-25-2004"))
    scope = scopes.Scope(unit=unit, period=parse_period("2026"))
    result = results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
    _, form = questionnaires.current_form(session=session, code="kepmenpan-25-2004")
    assert (result.n, [e.code for e in result.elements]) == (0, list(form.element_codes))
    assert result.method.table == "2004"


def test_ancestors_top_first_in_one_statement_and_ending_on_a_loop(
    session: Session, statement_log: StatementLog
) -> None:
    top = make_unit(session)
    middle = make_unit(session, parent=top)
    leaf = make_unit(session, parent=middle)
    session.expire_all()  # nothing from the identity map: each level would be a query
    with statement_log.recording() as statements:
        chain = org.ancestors(session=session, unit=leaf)
    assert [u.id for u in chain] == [top.id, middle.id]
    assert len(statements) == 2  # the leaf's own parent_id (expired), then the chain
    assert org.ancestors(session=session, unit=top) == []
    session.execute(sa.update(Unit).where(col(Unit.id) == top.id).values(parent_id=leaf.id))
    session.commit()
    assert [u.id for u in org.ancestors(session=session, unit=leaf)] == [top.id, middle.id]
    assert [u.id for u in org.ancestors(session=session, unit=middle)] == [leaf.id, top.id]
