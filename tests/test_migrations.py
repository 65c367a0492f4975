import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

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
from tests.conftest import fresh_database


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
            "rate_limit",
            "api_key",
        }
        assert _tables(url) == expected
        command.check(alembic_config(url))  # raises when the models drift from the migrations
        downgrade_schema(url, "base")
        assert _tables(url) == set()
        upgrade_schema(url)
        assert _tables(url) == expected


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
