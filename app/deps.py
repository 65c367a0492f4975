"""The FastAPI dependencies every audience shares (API, citizen pages, console): settings, the
database, and a session per request. Each alias is defined here once."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from app.config import Settings, get_settings
from app.db import Database, get_database

SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def read_session(database: DatabaseDep) -> Iterator[Session]:
    """A session for a request that only reads."""
    with database.session() as session:
        yield session


def write_session(database: DatabaseDep) -> Iterator[Session]:
    """A session for a request that writes; on SQLite it takes the write lock up front
    (BEGIN IMMEDIATE), so concurrent writers queue instead of deadlocking. The services it is
    handed to own the commit."""
    with database.session(write=True) as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]
