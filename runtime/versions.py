"""Published versions: a service's definition as IT published it, compiled once per version.

Below both runtime.data (publishing, drafts) and runtime.cases (a case follows its service's
current version), so that neither has to import the other to read a definition.
"""

from __future__ import annotations

from sqlmodel import Session, select

from . import validation
from .definition import Definition
from .lru import LRU
from .models import Service, ServiceVersion

# Published versions never change, so (database, service, version) names one content hash, and
# the hash names one compiled definition in runtime.validation's cache (the only one).
_version_hashes: LRU[tuple[str, str, int], str] = LRU(4 * validation.CACHE_SIZE)


def forget_definitions() -> None:
    """Drop what is known of published versions (tests that empty and refill one database)."""
    _version_hashes.clear()


def definition(*, session: Session, service_id: str, version: int | None = None) -> Definition | None:
    """A published definition (the current one unless ``version`` is given), compiled once per version."""
    if version is None:
        service = session.get(Service, service_id)
        if service is None:
            return None
        version = service.current_version
    key = (str(session.get_bind().engine.url), service_id, version)
    known = _version_hashes.get(key)
    if known is not None:
        hit = validation.cached(known)
        if hit is not None:
            return hit.definition
    row = session.exec(
        select(ServiceVersion).where(ServiceVersion.service_id == service_id, ServiceVersion.version == version)
    ).first()
    if row is None:
        return None
    built = validation.compiled(Definition(row.definition)).definition
    _version_hashes.replace(key, built.hash)
    return built
