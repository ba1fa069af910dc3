"""Limits on what one client, or all of them together, can make the runtime store.

Telling clients apart (``client_address``), the size of the unsent answers the database holds,
and deleting form sessions: one found expired in a request, one a citizen chose to start again,
and the expired ones in batches for ``civicforms sessions purge`` (with the builder's idle "try it"
preview sessions). No Flask here.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from .data import drafts, form_sessions
from .db import session as new_session
from .models import FormSession, utcnow

# -- who is asking -------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...] | None:
    """FORWARDED_ALLOW_IPS as networks; None for ``*`` (every address is a proxy)."""
    entries = list(entries)
    if "*" in entries:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_trusted(address: str, trusted: tuple[Network, ...] | None) -> bool:
    if trusted is None:
        return True
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted: tuple[Network, ...] | None) -> str:
    """The address of the client, as far as the proxies in front can be believed.

    From the connection's own address leftwards through ``X-Forwarded-For``: while the address
    in hand is a trusted proxy, the one it forwarded for is taken; the first that is not a
    proxy is the client (nginx's ``real_ip_recursive``). A client that reaches the server
    directly cannot choose its address by sending the header: its own address is not trusted.
    """
    address = (remote_addr or "").strip() or "unknown"
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()][-20:]
    while _is_trusted(address, trusted) and hops:
        address = hops.pop()
    return address[:64]


# -- how much is stored --------------------------------------------------------------------------


def answers_size(answers: dict[str, Any]) -> int:
    """The size of answers as stored (JSON, UTF-8)."""
    return len(json.dumps(answers, ensure_ascii=False, separators=(",", ":")).encode())


def unsent_answers_bytes(*, session: Session, now: datetime | None = None) -> int:
    """All answers held in live, unsent form sessions: one scan of the live rows."""
    query = select(func.coalesce(func.sum(func.length(cast(col(FormSession.answers), String))), 0)).where(
        col(FormSession.expires_at) > (now or utcnow()), col(FormSession.submission_reference).is_(None)
    )
    return int(session.connection().execute(query).scalar_one())


class UnsentAnswersGauge:
    """``unsent_answers_bytes``, measured at most every ``max_age`` seconds per process: a
    start or a page's answers check it without scanning the table on every request."""

    def __init__(self, max_age: float = 15.0):
        self.max_age = max_age
        self._value = 0
        self._measured_at = float("-inf")

    def bytes(self, session: Session) -> int:
        if time.monotonic() - self._measured_at >= self.max_age:
            self._value = unsent_answers_bytes(session=session)
            self._measured_at = time.monotonic()
        return self._value


# -- deleting ------------------------------------------------------------------------------------


def delete_form_session(*, session: Session, form_session_id: str) -> None:
    """Delete one form session and its answers (a citizen chose to start again)."""
    session.connection().execute(delete(FormSession).where(col(FormSession.id) == form_session_id))


def delete_if_expired(*, session: Session, token: str | None, now: datetime | None = None) -> bool:
    """Delete the form session of ``token`` if it has expired; True if one was deleted.

    The expired-session page says the answers are deleted: this makes it so at once, in the
    request that found them expired, rather than at the next ``sessions purge``.
    """
    if not token or len(token) > 100:
        return False
    result = session.connection().execute(
        delete(FormSession).where(
            col(FormSession.id) == form_sessions._token_id(token),  # the store's hash of the token
            col(FormSession.expires_at) <= (now or utcnow()),
        )
    )
    return bool(result.rowcount)


def purge_expired(engine: Engine, *, batch_size: int = 1000, now: datetime | None = None) -> int:
    """Delete every form session expired by ``now``, ``batch_size`` rows per transaction.

    Each batch picks its rows by the ``expires_at`` index and deletes them by primary key, then
    commits: no transaction holds locks on more than one batch, and citizens' requests (which
    touch live rows only) never wait for the purge. Returns how many were deleted.
    """
    cutoff = now or utcnow()
    deleted = 0
    while True:
        with new_session(engine) as s:
            ids = list(
                s.connection()
                .execute(
                    select(col(FormSession.id))
                    .where(col(FormSession.expires_at) <= cutoff)
                    .order_by(col(FormSession.expires_at))
                    .limit(batch_size)
                )
                .scalars()
            )
            if not ids:
                return deleted
            result = s.connection().execute(
                delete(FormSession).where(col(FormSession.id).in_(ids), col(FormSession.expires_at) <= cutoff)
            )
            s.commit()
        deleted += int(result.rowcount or 0)
        if len(ids) < batch_size:
            return deleted


def purge_idle_previews(engine: Engine, *, minutes: int, batch_size: int = 1000, now: datetime | None = None) -> int:
    """Delete every builder "try it" preview session not used for ``minutes`` (the citizens'
    session timeout) by ``now``, with its answers, ``batch_size`` rows per transaction; the
    purge of forgotten files then deletes its files. Returns how many were deleted."""
    idle_since = (now or utcnow()) - timedelta(minutes=minutes)
    deleted = 0
    while True:
        with new_session(engine) as s:
            count = drafts.delete_idle_preview_sessions(session=s, idle_since=idle_since, limit=batch_size)
            s.commit()
        deleted += count
        if count < batch_size:
            return deleted
