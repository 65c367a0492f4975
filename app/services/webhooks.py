"""Webhooks: other systems subscribe to a subtree's alerts and receive each as a JSON POST
signed with HMAC-SHA256, retried with growing pauses when the receiver fails, every try kept
in the delivery log.

The signature header is ``X-SKM-Signature: t=<unix seconds>,v1=<hex>``, the HMAC-SHA256 of
``"<t>.<body>"`` under the subscription's secret; a receiver recomputes it and refuses a stale
``t``. The secret is not stored: it is derived from SKM_SECRET_KEY and the subscription's salt,
shown once at creation and the same on every replica (rotating SKM_SECRET_KEY changes it).

Deliveries are claimed with a lease (their next try moved ahead before the request is sent),
so replicas running the job at once never send one twice, and no lock is held over the
network.
"""

import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.errors import InvalidInput, NotFound
from app.models import Unit, Webhook, WebhookAttempt, WebhookDelivery, utcnow
from app.services import audit
from app.services.org import ancestors

# Pauses before the second, third... try; after the last the delivery is failed.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=1)  # longer than a try's timeout
TIMEOUT_SECONDS = 10.0
BATCH = 20


def secret_of(secret_key: str, webhook: Webhook) -> str:
    """The subscription's signing secret (never stored)."""
    digest = hmac.new(secret_key.encode(), f"webhook:{webhook.salt}".encode(), hashlib.sha256)
    return "whsec_" + digest.hexdigest()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-SKM-Signature`` value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _checked_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InvalidInput("the webhook URL must be an http(s) address", loc=("url",))
    return url


def create(
    *, session: Session, unit: Unit, url: str, actor: audit.Actor, secret_key: str
) -> tuple[Webhook, str]:
    """Subscribe ``url`` to the alerts of the unit's subtree; returns the secret (shown once)."""
    hook = Webhook(
        unit_id=unit.id,  # type: ignore[arg-type]  # stored
        url=_checked_url(url),
        salt=secrets.token_hex(16),
        created_by=actor.name,
    )
    session.add(hook)
    session.flush()
    audit.record_as(
        session=session, actor=actor, action="webhook.create", target=hook.url, unit_id=unit.id
    )
    session.commit()
    session.refresh(hook)
    return hook, secret_of(secret_key, hook)


def deactivate(*, session: Session, webhook: Webhook, actor: audit.Actor) -> None:
    webhook.active = False
    session.add(webhook)
    audit.record_as(
        session=session,
        actor=actor,
        action="webhook.delete",
        target=webhook.url,
        unit_id=webhook.unit_id,
    )
    session.commit()


def listing(session: Session, unit_ids: list[int]) -> list[Webhook]:
    return list(
        session.exec(
            select(Webhook)
            .where(col(Webhook.unit_id).in_(unit_ids), col(Webhook.active).is_(True))
            .order_by(col(Webhook.id))
        )
    )


def get(session: Session, webhook_id: int, unit_ids: list[int]) -> Webhook:
    found = session.get(Webhook, webhook_id)
    if found is None or found.unit_id not in unit_ids or not found.active:
        raise NotFound(f"no webhook {webhook_id}")
    return found


def enqueue(session: Session, unit: Unit, event: str, payload: dict[str, Any], at: datetime) -> int:
    """Queue ``payload`` for every active subscription whose subtree holds ``unit``, in the
    caller's transaction; returns how many."""
    above = [u.id for u in ancestors(session=session, unit=unit)] + [unit.id]
    hooks = session.exec(
        select(Webhook).where(col(Webhook.unit_id).in_(above), col(Webhook.active).is_(True))
    ).all()
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    for hook in hooks:
        session.add(
            WebhookDelivery(
                webhook_id=hook.id,  # type: ignore[arg-type]  # stored
                event=event,
                payload=body,
                next_attempt_at=at,
                created_at=at,
            )
        )
    return len(hooks)


def _claim(session: Session, delivery: WebhookDelivery, now: datetime) -> bool:
    """Take the delivery for one try: move its next try past the lease, if no one else did."""
    table = WebhookDelivery.__table__  # type: ignore[attr-defined]
    taken = session.execute(
        sa.update(table)
        .where(
            table.c.id == delivery.id,
            table.c.status == "pending",
            table.c.next_attempt_at == delivery.next_attempt_at,
        )
        .values(next_attempt_at=now + LEASE)
    )
    session.commit()
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult


def deliver_due(
    *, session: Session, secret_key: str, client: httpx.Client, now: datetime | None = None
) -> list[WebhookAttempt]:
    """Try every pending delivery whose time has come (a batch): a 2xx answer delivers it,
    anything else schedules the next try or, after the last, fails it. Returns the tries."""
    at = now or utcnow()
    due = session.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", col(WebhookDelivery.next_attempt_at) <= at)
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(BATCH)
    ).all()
    tried = []
    for delivery in due:
        if not _claim(session, delivery, at):
            continue
        hook = session.get(Webhook, delivery.webhook_id)
        assert hook is not None  # foreign key
        tried.append(_try(session, hook, delivery, secret_key, client, at))
    return tried


def _try(
    session: Session,
    hook: Webhook,
    delivery: WebhookDelivery,
    secret_key: str,
    client: httpx.Client,
    at: datetime,
) -> WebhookAttempt:
    body = delivery.payload.encode()
    stamp = int(at.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "skm-webhook/1",
        "X-SKM-Event": delivery.event,
        "X-SKM-Delivery": str(delivery.id),
        "X-SKM-Signature": signature(secret_of(secret_key, hook), stamp, body),
    }
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        answer = client.post(hook.url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
        status = answer.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    attempt = WebhookAttempt(
        delivery_id=delivery.id,  # type: ignore[arg-type]  # stored
        at=at,
        status_code=status,
        error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    session.add(attempt)
    session.refresh(delivery)
    delivery.attempts += 1
    if error is None:
        delivery.status = "delivered"
        delivery.delivered_at = at
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = at + BACKOFF[delivery.attempts - 1]
    session.add(delivery)
    session.commit()
    session.refresh(attempt)
    return attempt


def log(
    session: Session, webhook: Webhook, limit: int = 50
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """A subscription's newest deliveries, each with its tries."""
    deliveries = session.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    ).all()
    ids = [d.id for d in deliveries]
    attempts: dict[int, list[WebhookAttempt]] = {i: [] for i in ids if i is not None}
    for row in session.exec(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(ids))
        .order_by(col(WebhookAttempt.id))
    ):
        attempts[row.delivery_id].append(row)
    return [(d, attempts.get(d.id or 0, [])) for d in deliveries]
