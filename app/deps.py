"""The FastAPI dependencies every audience shares (API, citizen pages, console): settings, the
database, and a session per request. Each alias is defined here once."""

import inspect
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session

from app.config import Settings, get_settings
from app.db import Database, get_database


# Both async although they only return the process's cached object: FastAPI runs a sync
# dependency in the threadpool, a trip that cost more than the lookup on every request.
# Tests override these two functions.
async def settings() -> Settings:
    """The settings (``get_settings``), as a dependency."""
    return get_settings()


async def database() -> Database:
    """The process's database (``get_database``), as a dependency."""
    return get_database()


def _given(request: Request, dependency: Callable[[], Any], default: Callable[[], Any]) -> Any:
    """What the app's override of ``dependency`` gives (tests set them), else ``default()``.
    Only a plain function is called: these routes would neither await nor close what an
    ``async def`` or generator override gives, so such an override is refused at once."""
    override = request.app.dependency_overrides.get(dependency)
    if override is None:
        return default()
    if inspect.iscoroutinefunction(override) or inspect.isgeneratorfunction(override):
        raise TypeError(f"an override of {dependency.__name__} must return its value")
    return override()


def settings_of(request: Request) -> Settings:
    """:func:`settings` for a route outside FastAPI's dependency injection (a plain Starlette
    route: the two busiest citizen routes, where solving three dependencies cost more CPU
    than the rest of the page's event-loop work), overrides included."""
    return _given(request, settings, get_settings)  # type: ignore[no-any-return]


def database_of(request: Request) -> Database:
    """:func:`database` for a route outside FastAPI's dependency injection (see
    :func:`settings_of`), overrides included."""
    return _given(request, database, get_database)  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(settings)]
DatabaseDep = Annotated[Database, Depends(database)]


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
