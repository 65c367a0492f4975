import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from app.config import REPO_ROOT
from app.core.forms import load_forms
from app.db import (
    MIGRATION_LOCK,
    alembic_config,
    create_db_engine,
    downgrade_schema,
    schema_is_current,
    upgrade_schema,
)
from app.models import (
    ROLLUP_COUNTS,
    ROLLUP_KEYS_FULL,
    ROLLUP_MONTH_KEYS,
    response_rollup,
    response_rollup_month,
)
from app.services import intake, questionnaires, rollups
from tests.conftest import fresh_database
from tests.factories import coarse_sums, make_unit, response, rollup_sums


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_check_downgrade_round_trip(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        assert not schema_is_current(url)
        upgrade_schema(url)
        assert schema_is_current(url)
        expected = {
            "unit",
            "service",
            "counter",
            "form_version",
            "response",
            "population",
            "response_rollup",
            "response_rollup_month",
            "response_rollup_quarter",
            "rate_limit",
            "api_key",
            "unit_report_setting",
            "unit_logo",
            "staff_user",
            "staff_session",
            "audit_log",
            "paper_upload",
            "publication",
            "followup_action",
            "evidence_file",
            "survey_cycle",
            "alert",
            "webhook",
            "webhook_delivery",
            "webhook_attempt",
            "job_state",
        }
        assert _tables(url) == expected
        command.check(alembic_config(url))  # raises when the models drift from the migrations
        downgrade_schema(url, "base")
        assert _tables(url) == set()
        upgrade_schema(url)
        assert _tables(url) == expected


def test_rollup_shards_downgrade_into_one_row_per_key(tmp_path: Path) -> None:
    """Downgrading past the rollup shards keeps every key's sums (and a month's day bounds),
    in one row per key of each rollup table; upgrading again fills the quarter rows from the
    month rows with the same totals as intake wrote."""
    with fresh_database(tmp_path) as url:
        upgrade_schema(url)
        engine = create_db_engine(url, poolclass=sa.pool.NullPool)
        try:
            with Session(engine) as session:
                questionnaires.sync_forms(session=session, forms_dir=REPO_ROOT / "survey_forms")
                unit = make_unit(session)
                for i in range(40):
                    answers = tuple(1 + (i + j) % 4 for j in range(9))
                    when = datetime(2026, 3, 2 + i % 20, 9, tzinfo=UTC)
                    intake.record_responses(
                        session=session, unit=unit, items=[response(answers, when)], channel="api"
                    )
                days, coarse = rollup_sums(session), coarse_sums(session, [unit.id])
                months = rollups.month_totals(session=session, unit_ids=[unit.id])
                shards = session.execute(sa.text("SELECT count(*) FROM response_rollup_month"))
                assert shards.scalar_one() > 1  # 40 random picks of 16 shards
            downgrade_schema(url, "6478ab39df61")
            m = response_rollup_month.c
            month_columns = [c for c in m if c.name != "shard"]
            with engine.connect() as connection:
                day_columns = (*ROLLUP_KEYS_FULL, *ROLLUP_COUNTS)  # every one but the shard
                r = response_rollup.c
                day_rows = connection.execute(
                    sa.select(*(r[c] for c in day_columns)).order_by(
                        *(r[k] for k in ROLLUP_KEYS_FULL)
                    )
                ).all()
                month_rows = connection.execute(
                    sa.select(*month_columns).order_by(*(m[k] for k in ROLLUP_MONTH_KEYS))
                ).all()
            assert [tuple(r) for r in day_rows] == days
            assert [tuple(r) for r in month_rows] == months
            upgrade_schema(url)
            with Session(engine) as session:
                assert (rollup_sums(session), coarse_sums(session, [unit.id])) == (days, coarse)
        finally:
            engine.dispose()


def _db_upgrade(url: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "db", "upgrade"],
        env={**os.environ, "SKM_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lock_waiters(holder: sa.Connection, upgrades: list["subprocess.Popen[str]"]) -> None:
    """Until every upgrade waits for the migration lock (so they run at the same moment)."""
    waiting = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    deadline = time.monotonic() + 120
    while holder.execute(waiting).scalar_one() < len(upgrades):
        holder.commit()  # a new snapshot of pg_locks next time
        finished = [u.args for u in upgrades if u.poll() is not None]
        assert not finished, f"an upgrade ran without waiting for the lock: {finished}"
        assert time.monotonic() < deadline, "the upgrades never waited for the lock"
        time.sleep(0.05)  # polling a condition; the result does not depend on this interval


@pytest.mark.slow
def test_two_upgrades_at_once_run_one_after_the_other(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        if url.startswith("sqlite"):
            # One writer at a time; the second upgrade finds nothing to do.
            upgrades = [_db_upgrade(url)]
            upgrades[0].wait(timeout=120)
            upgrades.append(_db_upgrade(url))
        else:
            engine = create_db_engine(url, poolclass=sa.pool.NullPool)
            with engine.connect() as holder:
                holder.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK)))
                upgrades = [_db_upgrade(url), _db_upgrade(url)]
                _wait_for_lock_waiters(holder, upgrades)
                holder.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK)))
                holder.commit()
            engine.dispose()
        done = [upgrade.communicate(timeout=120) for upgrade in upgrades]
        assert [(u.returncode, err) for u, (_, err) in zip(upgrades, done, strict=True)] == [
            (0, ""),
            (0, ""),
        ]
        added = [
            re.fullmatch(r"schema upgraded to head; (\d+) new form version\(s\)\n", out)
            for out, _ in done
        ]
        assert all(added), done
        forms = len(load_forms(REPO_ROOT / "survey_forms"))
        assert sum(int(found.group(1)) for found in added if found) == forms
        assert schema_is_current(url)


def test_the_month_rollup_migration_fills_the_month_rows_from_the_day_rows(
    tmp_path: Path,
) -> None:
    counts = ("responses", "a1_n", "a1_sum", "complete_sumsq")
    zeros = {f"a{i}_{kind}": 0 for i in range(2, 15) for kind in ("n", "sum")}
    zeros.update(complete=0, complete_sum=0)
    day = sa.table(
        "response_rollup",
        sa.column("local_date", sa.Date),
        *(
            sa.column(c)
            for c in (
                "unit_id",
                "service_key",
                "counter_key",
                "form_version_id",
                "channel",
                "flagged",
                *counts,
                *zeros,
            )
        ),
    )
    with fresh_database(tmp_path) as url:
        upgrade_schema(url, "3b1f0c9a7d21")
        engine = create_db_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO unit (id, code, name, time_zone, active, created_at) "
                    "VALUES (1, 'kendari', 'Kota Kendari', 'Asia/Makassar', true, :now)"
                ),
                {"now": "2026-01-01 00:00:00"},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO form_version (id, code, content_hash, element_codes, "
                    "definition, created_at) VALUES (1, 'f', 'h', 'a', '{}', :now)"
                ),
                {"now": "2026-01-01 00:00:00"},
            )
            rows = [
                # day, service, channel, flagged, responses, a1_n, a1_sum, complete_sumsq
                ("2026-01-31", 0, "qr", False, 2, 2, 7, 900),
                ("2026-01-05", 3, "paper", False, 1, 1, 4, 0),
                ("2026-01-20", 0, "qr", True, 5, 5, 5, 25),
                ("2026-02-01", 0, "qr", False, 1, 0, 0, 0),
            ]
            connection.execute(
                day.insert().values(
                    [
                        {
                            "unit_id": 1,
                            "local_date": date.fromisoformat(d),
                            "service_key": service,
                            "counter_key": 0,
                            "form_version_id": 1,
                            "channel": channel,
                            "flagged": flagged,
                            **dict(zip(counts, numbers, strict=True)),
                            **zeros,
                        }
                        for d, service, channel, flagged, *numbers in rows
                    ]
                )
            )
        upgrade_schema(url)
        with engine.connect() as connection:
            found = connection.execute(
                sa.text(
                    "SELECT month_date, flagged, first_date, last_date, responses, a1_n, "
                    "a1_sum, complete_sumsq, a9_sum FROM response_rollup_month "
                    "ORDER BY month_date, flagged"
                )
            ).all()
        engine.dispose()
    as_text = [tuple(str(v) if isinstance(v, date) else v for v in row) for row in found]
    assert [(*row[:1], bool(row[1]), *row[2:]) for row in as_text] == [
        ("2026-01-01", False, "2026-01-05", "2026-01-31", 3, 3, 11, 900, 0),
        ("2026-01-01", True, "2026-01-20", "2026-01-20", 5, 5, 5, 25, 0),
        ("2026-02-01", False, "2026-02-01", "2026-02-01", 1, 0, 0, 0, 0),
    ]
