from pathlib import Path

import sqlalchemy as sa
from alembic import command

from app.db import (
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
            "rate_limit",
            "api_key",
        }
        assert _tables(url) == expected
        command.check(alembic_config(url))  # raises when the models drift from the migrations
        downgrade_schema(url, "base")
        assert _tables(url) == set()
        upgrade_schema(url)
        assert _tables(url) == expected
