"""One cache of compiled definitions: the store's published versions are the validation cache's entries."""

from __future__ import annotations

from typing import Any

from runtime import validation, versions


def test_a_published_version_is_compiled_once_and_shared(db_session: Any) -> None:
    first = versions.definition(session=db_session, service_id="missed-bin-collection")
    assert first is not None
    # The citizen runtime asks the validation cache for the compiled service: the same object.
    assert validation.compiled(first).definition is first
    assert validation.cached(first.hash) is validation.compiled(first)
    again = versions.definition(session=db_session, service_id="missed-bin-collection", version=first.version)
    assert again is first


def test_an_evicted_definition_is_loaded_again_not_lost(db_session: Any) -> None:
    first = versions.definition(session=db_session, service_id="blue-badge")
    assert first is not None
    validation._cache.pop(first.hash)
    again = versions.definition(session=db_session, service_id="blue-badge")
    assert again is not None and again is not first
    assert again.hash == first.hash
    assert validation.cached(first.hash) is not None


def test_an_unknown_service_or_version_is_none(db_session: Any) -> None:
    assert versions.definition(session=db_session, service_id="no-such-service") is None
    assert versions.definition(session=db_session, service_id="blue-badge", version=999) is None
