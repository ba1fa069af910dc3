"""Finding a uk-address by postcode on the citizen's question page (a question with "lookup": true).

The GOV.UK address pattern with a lookup, as posts of the question page's own form, so that it
works without JavaScript (htmx's boosted form only saves the page load):

1. FIND: the postcode and "Find address" (a link to type the address instead);
2. CHOOSE: the postcode's addresses in a list and "Use this address" (the postcode with a Change
   link; "I cannot find the address in the list" to type it);
3. MANUAL: the address's parts, filled from the chosen address for the citizen to check, or
   typed; "Continue" saves them as any page is saved, and validation is the question's own.

Nothing is saved by steps 1 and 2: the step is in a hidden field of the form, the addresses are
asked of the provider again for step 3 (the chosen one is found by its UPRN among them, never
taken from the post). With no provider configured (``CIVICFORMS_ADDRESS_LOOKUP`` empty) the
question is the address form alone, as without "lookup"; when the provider is down or refuses,
step 3 says so and the citizen types the address, the postcode already filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import request

from .. import answers as answer_forms
from ..address_lookup import AddressLookup, LookupUnavailable, lookup_for
from ..definition import Definition, Page
from ..widgets import ADDRESS_PARTS, clean_text, is_postcode, normalise_postcode
from ..widgets.address import CHOOSE, FIND, MANUAL, lookup_key
from .common import settings
from .journey_pages import CappedForm

if TYPE_CHECKING:
    from .journey_pages import JourneyPages

__all__ = ["UNAVAILABLE", "shown", "step"]

UNAVAILABLE = "Sorry, we cannot find addresses by postcode at the moment. Enter the address instead."


def _provider() -> AddressLookup | None:
    return lookup_for(settings())


def _lookup_questions(service: Definition, page: Page) -> list[str]:
    return [
        name
        for name in page.questions
        if service.questions[name].widget == "uk-address" and service.questions[name].lookup
    ]


def _first(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def shown(
    journey: JourneyPages, page: Page, raw: dict[str, Any], asked: Mapping[str, Any], errors: Mapping[str, str]
) -> dict[str, Any]:
    """``raw`` with the step of each of the page's lookup questions, for a page shown: on a GET
    (``asked``: its query, where ``?address-lookup=manual`` or ``find`` chooses), after a save
    that validation refused (``asked``: the post, whose hidden field keeps the step; an error on
    the address's parts shows them whatever the post said), or after a step (``step`` has set
    it). Unchanged without a provider."""
    names = _lookup_questions(journey.service, page)
    if not names or _provider() is None:
        return raw
    out = dict(raw)
    change = {"change": "1"} if request.args.get("change") == "1" else {}
    for name in names:
        out[lookup_key(name, "manual-url")] = journey.page_url(page, **change, **{lookup_key(name): MANUAL})
        out[lookup_key(name, "find-url")] = journey.page_url(page, **change, **{lookup_key(name): FIND})
        if lookup_key(name) in out:
            continue
        wanted = _first(asked, lookup_key(name))
        answered = any(str(out.get(f"{name}.{part}") or "").strip() for part in ADDRESS_PARTS)
        wrong = any(path == name or path.startswith(f"{name}.") for path in errors)
        if wanted == MANUAL or wrong or (answered and wanted != FIND):
            out[lookup_key(name)] = MANUAL
        else:
            out[lookup_key(name)] = FIND
            out.setdefault(lookup_key(name, "postcode"), out.get(f"{name}.postcode", ""))
    return out


def step(journey: JourneyPages, page: Page, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]] | None:
    """A post that is a step of finding an address: ``(raw, errors)`` to show the page again
    with, nothing saved. None when the post saves the page (no provider, or the address typed)."""
    names = _lookup_questions(journey.service, page)
    provider = _provider() if names else None
    if provider is None:
        return None
    stepping: tuple[str, str] | None = None
    for name in names:
        action = _first(form, lookup_key(name, "action"))
        stage = _first(form, lookup_key(name))
        if action in (FIND, CHOOSE):
            stepping = (name, action)  # the button pressed
            break
        if stage in (FIND, CHOOSE) and stepping is None:
            stepping = (name, stage)  # Continue, or Enter, at a step: it takes the step
    if stepping is None:
        return None
    name, what = stepping
    # The page's other answers are shown again as posted (not saved: the page is not complete).
    _, raw = answer_forms.parse_page(journey.service, page.questions, CappedForm(form))
    errors: dict[str, str] = {}
    typed = clean_text(_first(form, lookup_key(name, "postcode"))[:20])
    raw[lookup_key(name, "postcode")] = typed
    postcode = normalise_postcode(typed)
    if not typed:
        errors[lookup_key(name, "postcode")] = "Enter a postcode"
    elif not is_postcode(postcode):
        errors[lookup_key(name, "postcode")] = "Enter a real postcode"
    if errors:
        raw[lookup_key(name)] = FIND
        return raw, errors
    try:
        found = provider.find(postcode)
    except LookupUnavailable:
        _typed_instead(raw, name, {"postcode": postcode}, UNAVAILABLE)
        return raw, {}
    raw[lookup_key(name, "postcode")] = postcode
    if not found:
        raw[lookup_key(name)] = FIND
        errors[lookup_key(name, "postcode")] = (
            f"We could not find any addresses for {postcode}. Check the postcode, or enter the address manually"
        )
        return raw, errors
    chosen = _first(form, lookup_key(name, "address"))
    address = next((a for a in found if a.uprn and a.uprn == chosen), None) if what == CHOOSE else None
    if address is not None:
        _typed_instead(raw, name, address.parts(), None)
        return raw, {}
    raw[lookup_key(name)] = CHOOSE
    raw[lookup_key(name, "addresses")] = found
    if what == CHOOSE:
        errors[lookup_key(name, "address")] = "Select an address"
    return raw, errors


def _typed_instead(raw: dict[str, Any], name: str, parts: dict[str, str], message: str | None) -> None:
    """To the address form, filled with ``parts`` (the chosen address, or the postcode)."""
    for part in ADDRESS_PARTS:
        raw[f"{name}.{part}"] = parts.get(part, "")
    raw[lookup_key(name)] = MANUAL
    if message:
        raw[lookup_key(name, "message")] = message
