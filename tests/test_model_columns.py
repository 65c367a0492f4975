"""ModelColumns: models read by a Core statement, without the ORM's loading."""

import subprocess
import sys

from sqlmodel import Session

from app.config import REPO_ROOT
from app.db import ModelColumns
from app.models import Counter, Service
from tests.factories import make_unit


def test_a_row_builds_the_model_and_an_outer_join_that_found_none_builds_none(
    session: Session,
) -> None:
    unit = make_unit(session)
    assert unit.id is not None
    counters, services = ModelColumns(Counter, "c_"), ModelColumns(Service, "s_")
    session.add(Counter(unit_id=unit.id, code="loket-1", name="Loket 1", kiosk=True))
    session.commit()
    statement = (
        Counter.__table__.outerjoin(  # type: ignore[attr-defined]
            Service.__table__,  # type: ignore[attr-defined]
            Service.__table__.c.id == Counter.__table__.c.service_id,  # type: ignore[attr-defined]
        )
        .select()
        .with_only_columns(*counters.columns, *services.columns)
    )
    row = session.connection().execute(statement).one()._mapping
    counter = counters.build(row)
    assert counter is not None
    assert (counter.code, counter.name, counter.kiosk, counter.unit_id) == (
        "loket-1",
        "Loket 1",
        True,
        unit.id,
    )
    assert services.build(row) is None


def test_a_model_is_read_in_a_new_process_before_any_orm_query() -> None:
    """A new worker's first request may build a model before the ORM has set up its mappers
    (the attributes read through them): seen as a 500 on a server's first API post."""
    code = (
        "import sqlalchemy as sa\n"
        "from app.db import ModelColumns\n"
        "from app.models import Counter\n"
        "columns = ModelColumns(Counter, 'c_')\n"
        "row = sa.select(*(sa.literal(v).label(f'c_{k}') for k, v in dict(id=1, unit_id=2, "
        "service_id=None, code='l', name='Loket', token='t', kiosk=False, active=True).items()))\n"
        "engine = sa.create_engine('sqlite://')\n"
        "with engine.connect() as connection:\n"
        "    built = columns.build(connection.execute(row).one()._mapping)\n"
        "print(built.name, built.active)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "Loket True"), done.stderr
