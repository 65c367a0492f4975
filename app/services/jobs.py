"""The periodic job every server process runs in turn (or `skm jobs run` from cron): raise
alerts from new responses, then send the webhook deliveries that are due. Safe on any number
of replicas at once: the alert round locks its job row, deliveries are claimed with a lease."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db import Database
from app.services import alerts, webhooks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    alerts: int
    deliveries: int
    delivered: int


def run_once(database: Database, settings: Settings, client: httpx.Client | None = None) -> Round:
    """One round: the alert check, then the due deliveries."""
    with database.session(write=True) as session:
        raised = alerts.check(session=session, size=settings.alert_window_responses)
    own = client is None
    http = client or httpx.Client(follow_redirects=False)
    try:
        with database.session(write=True) as session:
            tried = webhooks.deliver_due(
                session=session,
                secret_key=settings.secret_key.get_secret_value(),
                client=http,
            )
    finally:
        if own:
            http.close()
    return Round(len(raised), len(tried), sum(1 for t in tried if t.error is None))


async def run_forever(database: Callable[[], Database], settings: Settings) -> None:
    """Rounds every ``job_interval_seconds`` until cancelled; a failed round is logged (the
    database may be restarting) and the next one tries again."""
    while True:
        await asyncio.sleep(settings.job_interval_seconds)
        try:
            done = await run_in_threadpool(run_once, database(), settings)
        except Exception as exc:  # a round must never stop the server
            logger.warning("background job round failed: %s", type(exc).__name__)
            continue
        if done.alerts or done.deliveries:
            logger.info(
                "background job: %d alert(s) raised, %d of %d webhook deliveries sent",
                done.alerts,
                done.delivered,
                done.deliveries,
            )
