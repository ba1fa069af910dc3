"""Data with known truth for the citizen matching benchmark (issue 16): generated residents, answers
that each shipped service accepts, the true pairs, pairwise scores, and Splink's fake_1000.

``residents(n, seed)`` makes ``n`` people (deterministic by seed) who each apply to 1 to 4 services,
typing their details a little differently each time (a nickname, a typo, accents and capitals, a new
email, a move, a phone written another way, day and month swapped, a middle name dropped), among
hard negatives: couples sharing one email, phone and address; twins; namesakes; someone using another
person's NHS number. ``answers_for(definition, details, rng)`` walks a service's pages as a citizen
would, posting the details as typed and the service's other questions filled with plausible values,
and returns the answers the real parser makes of them. ``truth_pairs`` and ``pairwise_scores`` score
predicted links. Every name, email (example domains), phone (Ofcom's drama ranges), NHS number (the
999 test range) and postcode is made up.
"""

from __future__ import annotations

import csv
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "form_definitions"
FAKE_1000 = Path(__file__).resolve().parent / "data" / "fake_1000.csv"

KINDS = ("full_name", "date_of_birth", "email", "phone", "postcode", "nhs_number", "ni_number")
VARIATIONS = (
    "nickname",
    "typo",
    "accents_or_capitals",
    "middle_name",
    "new_email",
    "move",
    "phone_format",
    "swapped_dob",
)
NEGATIVES = ("couple", "twin", "namesake", "nhs_borrower")

# -- names ---------------------------------------------------------------------------------

NICKNAMES = {
    "William": ["Bill", "Will", "Billy"],
    "Robert": ["Bob", "Rob", "Bobby"],
    "Elizabeth": ["Liz", "Beth", "Lizzie"],
    "Margaret": ["Maggie", "Peggy", "Meg"],
    "Katherine": ["Kate", "Kathy", "Katie"],
    "Catherine": ["Cathy", "Cath", "Kate"],
    "James": ["Jim", "Jamie", "Jimmy"],
    "Thomas": ["Tom", "Tommy"],
    "Richard": ["Rich", "Dick", "Richie"],
    "Edward": ["Ed", "Ted", "Eddie"],
    "Michael": ["Mike", "Mick"],
    "Christopher": ["Chris"],
    "Alexander": ["Alex", "Sandy"],
    "Jennifer": ["Jen", "Jenny"],
    "Susan": ["Sue", "Susie"],
    "Patricia": ["Pat", "Trish"],
    "Deborah": ["Debbie", "Deb"],
    "Anthony": ["Tony"],
    "Daniel": ["Dan", "Danny"],
    "Samuel": ["Sam"],
    "Rebecca": ["Becky", "Becca"],
    "Victoria": ["Vicky", "Tori"],
    "Jonathan": ["Jon", "Jonny"],
    "Nicholas": ["Nick", "Nicky"],
    "Stephen": ["Steve"],
    "Abigail": ["Abi", "Abbie"],
    "Benjamin": ["Ben"],
    "Joseph": ["Joe", "Joey"],
    "Oluwaseun": ["Seun"],
    "Mohammed": ["Mo"],
    "Muhammad": ["Mo"],
    "Małgorzata": ["Gosia"],
    "Aleksandra": ["Ola"],
    "Oluwadamilare": ["Dami"],
    "Alejandro": ["Álex"],
    "Francesca": ["Fran", "Frankie"],
}
FIRST_NAMES = [
    *NICKNAMES,
    "Olivia", "Amelia", "Isla", "Ava", "Oliver", "George", "Harry", "Noah", "Jack", "Leo",
    "Aisha", "Fatima", "Zainab", "Maryam", "Ibrahim", "Yusuf", "Omar", "Hassan", "Priya", "Anjali",
    "Rajesh", "Sanjay", "Harpreet", "Gurpreet", "Deepa", "Arjun", "Siobhán", "Seán", "Niamh", "Aoife",
    "Gráinne", "Ciarán", "Eilidh", "Mhairi", "Dafydd", "Siân", "Rhiannon", "Ffion", "Gareth", "Iolo",
    "Zoë", "Chloé", "José", "François", "Renée", "Noémie", "Łukasz", "Zofia", "Agnieszka", "Wojciech",
    "Chidi", "Adebayo", "Ngozi", "Chiamaka", "Kwame", "Ama", "Wei", "Mei", "Hiroshi", "Yuki",
    "Søren", "Björn", "Ingrid", "Anaïs", "Inês", "João", "Mónica", "Andrés", "Nguyễn", "Thảo",
]  # fmt: skip
SURNAMES = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
    "Roberts", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall",
    "Patel", "Khan", "Ahmed", "Ali", "Hussain", "Singh", "Kaur", "Begum", "Chowdhury", "Sharma",
    "Nguyen", "Chen", "Wang", "Li", "Tanaka", "Kowalski", "Nowak", "Wiśniewska", "Lewandowski", "Dąbrowski",
    "O'Brien", "O'Sullivan", "Murphy", "Ó Briain", "MacDonald", "McLeod", "Müller", "Schäfer", "Okafor", "Adeyemi",
    "Mensah", "Osei", "Fernández", "García", "Gonçalves", "Nørgaard", "Lefèvre", "Dubois", "Rossi", "Jenkins",
    "Price", "Lloyd", "ap Rhys", "Llewellyn", "Smith-Jones", "Ward-Prowse", "Gómez", "Østergaard", "Çelik", "Yılmaz",
]  # fmt: skip
# The commonest full names: namesakes are drawn from these.
COMMON_NAMES = [
    ("John", "Smith"), ("David", "Jones"), ("Sarah", "Williams"), ("Mohammed", "Khan"), ("Mohammed", "Ali"),
    ("James", "Brown"), ("Emma", "Taylor"), ("Michael", "Davies"), ("Priya", "Patel"), ("Wei", "Chen"),
    ("Fatima", "Begum"), ("Jack", "Wilson"),
]  # fmt: skip

TOWNS = ["Westbridge", "Northfields", "Old Town", "Riverside", "Kingsmead", "Ashford Green", "Eastholme"]
STREETS = [
    "High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Park Avenue", "Quay Road",
    "Northfields Avenue", "Green Lane", "Queen's Road", "Orchard Close", "Rectory Gardens",
]  # fmt: skip
OUTWARD = [
    "SW1A", "M1", "B33", "LS6", "CF10", "EH3", "G12", "BT7", "NE1", "BS8", "L8", "NG7", "OX4", "CB2", "E17", "N16",
    "SE15", "W12", "CR0", "DE22", "YO10", "PL4", "SA1", "AB10", "KY16", "LL57", "TR1", "EC1V", "WC2H", "S10",
]  # fmt: skip
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
DOMAINS = ["example.com", "example.org", "example.net"]
# Ofcom's numbers for drama: never allocated to anyone.
PHONE_RANGES = [("07700", "900"), ("01632", "960"), ("020", "7946 0")]

# -- identifiers ---------------------------------------------------------------------------


def nhs_check_digit(nine: str) -> int | None:
    """The modulus 11 check digit of nine digits, or None when there is none (a remainder of 10)."""
    check = 11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    return 0 if check == 11 else None if check == 10 else check


def is_nhs_number(value: str) -> bool:
    """Ten digits whose last is the modulus 11 check digit of the first nine."""
    return re.fullmatch(r"[0-9]{10}", value) is not None and nhs_check_digit(value[:9]) == int(value[9])


def _nhs_number(rng: random.Random) -> str:
    # The 999 range is NHS England's test range: no patient holds one.
    while True:
        nine = "999" + f"{rng.randrange(10**6):06d}"
        check = nhs_check_digit(nine)
        if check is not None:
            return nine + str(check)


_NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NI_NEVER = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def _ni_number(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(_NI_FIRST) + rng.choice(_NI_SECOND)
        if prefix not in _NI_NEVER:
            return f"{prefix}{rng.randrange(10**6):06d}{rng.choice('ABCD')}"


def _postcode(rng: random.Random) -> str:
    return f"{rng.choice(OUTWARD)} {rng.randrange(10)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"


def fold(text: str) -> str:
    """Accents off: José -> Jose (letters such as Ł and Ø stay)."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z]", "", fold(text).lower().replace("ł", "l").replace("ø", "o").replace("ı", "i"))


# -- how a citizen types -------------------------------------------------------------------


def phone_as_typed(national: str, style: int) -> str:
    """A phone number held as national digits groups ("07700 900123"), written one of five ways."""
    area, rest = national.split(" ", 1)
    digits = rest.replace(" ", "")
    styles = [
        f"{area} {rest}",
        f"{area}{digits}",
        f"+44 {area[1:]} {rest}",
        f"({area}) {digits[:3]} {digits[3:]}" if len(digits) == 6 else f"({area}) {rest}",
        f"{area} {digits[:3]} {digits[3:]}",
    ]
    return styles[style % len(styles)]


def _typo(name: str, rng: random.Random) -> str:
    """One letter wrong in the longest word: swapped with the next, dropped, doubled or replaced."""
    words = name.split(" ")
    i = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[i]
    if len(word) < 4:
        return name
    at = rng.randrange(1, len(word) - 1)
    how = rng.randrange(4)
    if how == 0 and word[at] != word[at + 1]:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    elif how == 1:
        word = word[:at] + word[at + 1 :]
    elif how == 2:
        word = word[:at] + word[at] + word[at:]
    else:
        letters = [c for c in "aeiourstnl" if c != word[at].lower()]
        word = word[:at] + rng.choice(letters) + word[at + 1 :]
    words[i] = word
    return " ".join(words)


class Application(NamedTuple):
    """One submission to make: whose it is (the truth), to which service, with what typed.

    ``tags`` names the variations this application's details carry against the person's first
    application, and the hard-negative roles of its person (``couple``, ``twin``, ``namesake``,
    ``nhs_borrower``, ``nhs_lender``).
    """

    person_id: int
    service_id: str
    details: dict[str, str]
    tags: frozenset[str] = frozenset()


def service_identities(folder: Path = DEFINITIONS) -> dict[str, dict[str, str]]:
    """``{service id: identity mapping}`` of the definitions in ``folder`` (and its sub-folders)
    that have one."""
    found = {}
    for path in sorted([*folder.glob("*.json"), *folder.glob("*/*.json")]):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("identity"):
            found[doc["id"]] = dict(doc["identity"])
    return found


def _new_person(rng: random.Random, pools: dict[str, Any]) -> dict[str, Any]:
    first = rng.choice(FIRST_NAMES)
    surname = rng.choice(SURNAMES)
    middle = rng.choice(FIRST_NAMES) if rng.random() < 0.3 else None
    dob = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 71))
    person = {
        "first": first,
        "middle": middle,
        "surname": surname,
        "dob": dob,
        "nhs": _unique(pools, "nhs", lambda: _nhs_number(rng)),
        "ni": _unique(pools, "ni", lambda: _ni_number(rng)),
        "roles": set(),
    }
    _new_home(person, rng, pools)
    _new_phone(person, rng, pools)
    person["email"] = _new_email(person, rng, pools)
    return person


def _unique(pools: dict[str, Any], kind: str, make: Any) -> str:
    used = pools.setdefault(kind, set())
    for _ in range(1000):
        value = make()
        if value not in used:
            used.add(value)
            return value
    raise RuntimeError(f"ran out of unique {kind} values")


def _new_home(person: dict[str, Any], rng: random.Random, pools: dict[str, Any]) -> None:
    person["postcode"] = _unique(pools, "postcode", lambda: _postcode(rng))
    person["line1"] = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"
    person["town"] = rng.choice(TOWNS)


def _new_phone(person: dict[str, Any], rng: random.Random, pools: dict[str, Any]) -> None:
    phones: list[str] = pools["phones"]
    if not phones:
        raise RuntimeError("ran out of drama-range phone numbers (about 3,000 people at most)")
    person["phone"] = phones.pop()


def _new_email(person: dict[str, Any], rng: random.Random, pools: dict[str, Any]) -> str:
    first, surname = _ascii(person["first"]) or "resident", _ascii(person["surname"]) or "x"
    shapes = [f"{first}.{surname}", f"{first[0]}{surname}", f"{first}{surname}", f"{surname}.{first}"]
    return _unique(pools, "email", lambda: f"{rng.choice(shapes)}{rng.randrange(1, 999)}@{rng.choice(DOMAINS)}")


def _phone_pool(rng: random.Random) -> list[str]:
    numbers = [f"{area} {block}{i:03d}" for area, block in PHONE_RANGES for i in range(1000)]
    rng.shuffle(numbers)
    return numbers


def _people(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` people, about 7% each a partner, a twin, a namesake or an NHS number borrower of an
    earlier one (and so a hard negative for them)."""
    pools: dict[str, Any] = {"phones": _phone_pool(rng)}
    people: list[dict[str, Any]] = []
    while len(people) < n:
        person = _new_person(rng, pools)
        roll = rng.random()
        plain = [p for p in people if not p["roles"]]
        if plain and roll < 0.28:
            other = rng.choice(plain)
            if roll < 0.07:  # a couple: one household email, phone and address
                person.update({k: other[k] for k in ("email", "phone", "postcode", "line1", "town")})
                if rng.random() < 0.6:
                    person["surname"] = other["surname"]
                role = "couple"
            elif roll < 0.14:  # twins: a surname, a birthday and a home; often a phone
                while person["first"] == other["first"]:
                    person["first"] = rng.choice(FIRST_NAMES)
                person.update({k: other[k] for k in ("surname", "dob", "postcode", "line1", "town")})
                if rng.random() < 0.6:
                    person["phone"] = other["phone"]
                role = "twin"
            elif roll < 0.21:  # namesakes: a common name, nothing else
                common = rng.choice(COMMON_NAMES)
                other["first"], other["surname"], other["middle"] = *common, None
                person["first"], person["surname"], person["middle"] = *common, None
                while person["dob"] == other["dob"]:
                    person["dob"] += timedelta(days=1)
                other["email"] = _new_email(other, rng, pools)
                person["email"] = _new_email(person, rng, pools)
                role = "namesake"
            else:  # registers with a GP on someone else's NHS number
                person["nhs"] = other["nhs"]
                person["borrowed"] = True
                other["lent"] = True
                role = "nhs_borrower"
            person["roles"].add(role)
            other["roles"].add("nhs_lender" if role == "nhs_borrower" else role)
        people.append(person)
    return people


def residents(n: int = 1000, seed: int = 1, services: dict[str, dict[str, str]] | None = None) -> list[Application]:
    """Applications of ``n`` people (deterministic by ``seed``) to the services with an identity
    mapping, in the order they are sent: each person applies to 1 to 4 of them over time.

    ``details`` holds only the kinds the service asks, as typed (``date_of_birth`` as
    "YYYY-MM-DD"), plus ``address_line1`` and ``town`` when it asks a postcode; ``nhs_number`` is
    missing when the citizen does not know it. A move stays moved for the person's later
    applications.
    """
    rng = random.Random(seed)
    services = service_identities() if services is None else services
    ids = sorted(services)
    gp = next((s for s in ids if "nhs_number" in services[s]), None)
    people = _people(n, rng)
    pools: dict[str, Any] = {
        "phones": [],
        "email": {p["email"] for p in people},
        "postcode": {p["postcode"] for p in people},
    }
    spare = _phone_pool(rng)
    used_phones = {p["phone"] for p in people}
    pools["phones"] = [p for p in spare if p not in used_phones]
    queue: list[tuple[float, int, str]] = []
    for pid, person in enumerate(people):
        chosen = rng.sample(ids, rng.randint(1, min(4, len(ids))))
        if gp and (person.get("borrowed") or person.get("lent")) and gp not in chosen:
            chosen[-1] = gp  # the borrowed number has to be typed somewhere
        for k, service in enumerate(chosen):
            queue.append((pid + rng.random() * n * 0.5 + k * n * 0.2, pid, service))
    queue.sort()
    seen: dict[int, int] = Counter()
    applications = []
    for _, pid, service in queue:
        person = people[pid]
        applications.append(_application(pid, person, service, services[service], seen[pid], rng, pools))
        seen[pid] += 1
    return applications


def _application(
    pid: int,
    person: dict[str, Any],
    service: str,
    identity: dict[str, str],
    nth: int,
    rng: random.Random,
    pools: dict[str, Any],
) -> Application:
    tags = set(person["roles"])
    first, middle, dob = person["first"], person["middle"], person["dob"]
    if nth:
        if rng.random() < 0.08:
            _new_home(person, rng, pools)
            _new_phone(person, rng, pools)
            tags.add("move")
        if rng.random() < 0.10:
            person["email"] = _new_email(person, rng, pools)
            tags.add("new_email")
        if first in NICKNAMES and rng.random() < 0.35:
            first = rng.choice(NICKNAMES[first])
            tags.add("nickname")
        if middle and rng.random() < 0.4:
            middle = None
            tags.add("middle_name")
        if "date_of_birth" in identity and dob.day <= 12 and dob.day != dob.month and rng.random() < 0.15:
            dob = date(dob.year, dob.day, dob.month)
            tags.add("swapped_dob")
    name = " ".join(part for part in (first, middle, person["surname"]) if part)
    if nth and rng.random() < 0.08:
        typed = _typo(name, rng)
        if typed != name:
            name = typed
            tags.add("typo")
    if nth and rng.random() < 0.12:
        name = fold(name) if fold(name) != name else rng.choice([name.upper(), name.lower()])
        tags.add("accents_or_capitals")
    style = 0 if not nth else rng.randrange(5) if rng.random() < 0.35 else 0
    if style:
        tags.add("phone_format")
    typed = {
        "full_name": name,
        "date_of_birth": dob.isoformat(),
        "email": person["email"] if rng.random() < 0.9 else person["email"].capitalize(),
        "phone": phone_as_typed(person["phone"], style),
        "postcode": rng.choice([person["postcode"], person["postcode"].lower(), person["postcode"].replace(" ", "")]),
        "nhs_number": rng.choice([person["nhs"], f"{person['nhs'][:3]} {person['nhs'][3:6]} {person['nhs'][6:]}"]),
        "ni_number": rng.choice([person["ni"], " ".join(re.findall("..?", person["ni"])).lower()]),
    }
    details = {kind: typed[kind] for kind in identity if kind in typed}
    if "nhs_number" in details and not person.get("borrowed") and not person.get("lent") and rng.random() < 0.15:
        del details["nhs_number"]  # not everyone knows theirs
    if "ni_number" in details and rng.random() < 0.1:
        del details["ni_number"]
    if "postcode" in details:
        details["address_line1"], details["town"] = person["line1"], person["town"]
    return Application(pid, service, details, frozenset(tags))


def mix(applications: Iterable[Application]) -> dict[str, dict[str, int]]:
    """How many applications carry each variation, and how many people each hard-negative role."""
    apps = list(applications)
    variations = Counter(t for a in apps for t in a.tags if t in VARIATIONS)
    roles: dict[str, set[int]] = {}
    for a in apps:
        for t in a.tags:
            if t not in VARIATIONS:
                roles.setdefault(t, set()).add(a.person_id)
    return {
        "variations": {v: variations[v] for v in VARIATIONS},
        "people_by_role": {r: len(roles.get(r, ())) for r in (*NEGATIVES, "nhs_lender")},
        "totals": {"people": len({a.person_id for a in apps}), "applications": len(apps)},
    }


# -- answers a service accepts ---------------------------------------------------------------


class _Form(dict):
    """A posted form: what ``runtime.answers.parse_page`` reads (werkzeug's MultiDict shape)."""

    def getlist(self, key: str) -> list[str]:
        value = self.get(key)
        return [] if value is None else list(value) if isinstance(value, list) else [value]


def _definition(definition: Any) -> Any:
    from runtime.definition import Definition

    return definition if isinstance(definition, Definition) else Definition(definition)


def _date_between(rng: random.Random, schema: dict[str, Any], today: date) -> date:
    def bound(value: Any) -> date | None:
        return None if value is None else today if value == "today" else date.fromisoformat(value)

    after, before = bound(schema.get("dateAfter")), bound(schema.get("dateBefore"))
    if after and after >= today:
        return after + timedelta(days=rng.randint(1, 60))
    low = max(after + timedelta(days=1) if after else today - timedelta(days=3 * 365), today - timedelta(days=3 * 365))
    high = (before - timedelta(days=1)) if before else today + timedelta(days=60)
    return low + timedelta(days=rng.randint(0, max((high - low).days, 0)))


# Values for patterned text answers, tried in turn until one fits the pattern.
_PATTERNED = ["{reg}", "{digits8}", "{digits10}", "{word}"]


def _patterned(pattern: str, rng: random.Random) -> str:
    reg = f"{rng.choice('ABDEFGHKLMNOPRSVWY')}{rng.choice('ABCDEFGHJKLMNOPRSTUVWXY')}{rng.randint(10, 75)} "
    reg += "".join(rng.choice("ABCDEFGHJKLMNOPRSTUVWXYZ") for _ in range(3))
    values = {
        "digits8": f"{rng.randrange(10**8):08d}",
        "reg": reg,
        "digits10": f"{rng.randrange(10**10):010d}",
        "word": "Resident",
    }
    for shape in _PATTERNED:
        candidate = shape.format(**values)
        if re.search(pattern, candidate):
            return candidate
    raise ValueError(f"no generated value fits the pattern {pattern!r}")


_TEXTS = {
    "company": ["Westbridge Lettings Ltd", "Northfields Builders", "Riverside Motors"],
    "make": ["Ford Fiesta", "Vauxhall Corsa", "Nissan Leaf", "Toyota Yaris", "Kia Niro"],
    "name": ["Alex Morgan", "Sam Okoro", "Chris Nowak", "Jo Patel"],
}
_SENTENCES = [
    "The bin was out by 7am on the pavement as usual.",
    "I get out of breath after a few steps and need to stop.",
    "My previous surgery was the Quay Road practice.",
    "Please see the details above.",
]


def _free_text(name: str, widget: str, schema: dict[str, Any], rng: random.Random) -> str:
    if "pattern" in schema:
        return _patterned(schema["pattern"], rng)
    key = next((k for k in _TEXTS if k in name), None)
    text = rng.choice(_TEXTS[key]) if key and widget != "textarea" else rng.choice(_SENTENCES)
    return text[: schema.get("maxLength", len(text))]


def _field_values(
    definition: Any, name: str, details: dict[str, str], identity: dict[str, str], rng: random.Random, today: date
) -> dict[str, Any]:
    """The form fields one question posts: a citizen's details where the identity maps them there,
    otherwise a plausible answer the schema allows (a yes-no question is decided by the caller)."""
    question = definition.questions[name]
    widget = question.widget
    schema = definition.property_schema(name)
    mine = {path: kind for kind, path in identity.items() if kind in details}
    if widget == "uk-address":
        parts = {"line1": f"{rng.randrange(1, 200)} {rng.choice(STREETS)}", "town": rng.choice(TOWNS)}
        parts["postcode"] = _postcode(rng)
        if f"{name}.postcode" in mine:
            parts.update(
                postcode=details[mine[f"{name}.postcode"]],
                line1=details.get("address_line1", parts["line1"]),
                town=details.get("town", parts["town"]),
            )
        return {f"{name}.{part}": value for part, value in parts.items()}
    if name in mine:
        value = details[mine[name]]
        if widget == "date":
            y, m, d = value.split("-")
            # Some type 07, some 7.
            strip = rng.random() < 0.5
            return {f"{name}-day": d.lstrip("0") if strip else d, f"{name}-month": m.lstrip("0") if strip else m,
                    f"{name}-year": y}  # fmt: skip
        return {name: value}
    if widget in ("radios", "select"):
        return {name: rng.choice([o.value for o in question.options] or schema.get("enum", []))}
    if widget == "checkboxes":
        options = [o.value for o in question.options] or schema.get("items", {}).get("enum", [])
        return {name: rng.sample(options, rng.randint(1, min(2, len(options))))}
    if widget == "date":
        d = _date_between(rng, schema, today)
        return {f"{name}-day": str(d.day), f"{name}-month": str(d.month), f"{name}-year": str(d.year)}
    if widget == "number":
        low = int(schema.get("minimum", 0))
        return {name: str(min(low + rng.randint(0, 2), int(schema.get("maximum", low + 2))))}
    if widget == "email":
        return {name: f"someone{rng.randrange(1000)}@{rng.choice(DOMAINS)}"}
    if widget == "tel":
        area, block = rng.choice(PHONE_RANGES)
        return {name: f"{area} {block}{rng.randrange(1000):03d}"}
    if widget == "nhs-number":
        return {name: _nhs_number(rng)}
    if widget == "ni-number":
        return {name: _ni_number(rng)}
    if widget == "postcode":
        return {name: _postcode(rng)}
    return {name: _free_text(name, widget, schema, rng)}


def _load_journeys() -> Any:
    """tests/journeys.py: the one place that says how a file question's and an add-another
    question's steps are posted and stored (bench/run.py loads it the same way)."""
    from bench.run import JOURNEYS as journeys

    return journeys


class _Journeys:
    """tests/journeys.py, loaded when first used (bench/run.py imports Flask)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_load_journeys(), name)


JOURNEYS = _Journeys()


def upload_for(definition: Any, name: str) -> Any:
    """The file a citizen uploads to file question ``name``: tests/journeys.py's photo (a JPEG)
    or passport scan (a PNG), whichever the question takes."""
    accept = definition.question(name).accept
    for file in (JOURNEYS.PHOTO, JOURNEYS.PASSPORT):
        if file.name.rsplit(".", 1)[1].replace("jpg", "jpeg") in accept:
            return file
    raise ValueError(f"{definition.id}: no generated file fits {name!r} (it takes {', '.join(accept)})")


def _item_fields(definition: Any, name: str, rng: random.Random, today: date) -> dict[str, Any]:
    """The fields one item of add-another question ``name`` posts (a generated person, say)."""
    each = definition.item_definition(name)
    form: dict[str, Any] = {}
    for item in each.questions:
        if each.questions[item].widget == "yes-no":
            form[item] = rng.choice(["yes", "no"])
        else:
            form.update(_field_values(each, item, {}, {}, rng, today))
    return form


def _file_or_item_steps(
    definition: Any, page: Any, rng: random.Random, today: date
) -> list[tuple[str, dict[str, Any]]] | None:
    """A file question's page or an add-another question's steps, as tests/journeys.py posts
    them (None for any other page). A file question's page posts the file (an ``UploadFile``:
    a client sends it multipart to the page's upload form). An add-another question's steps
    add between one and three items (within its schema's ``minItems``/``maxItems``): item 1 on
    the list's page, "Yes" to adding another, item n on ``<page>/<n>``, then "No"."""
    widgets = {name: definition.questions[name].widget for name in page.questions}
    if "file" in widgets.values():
        return [(page.id, {name: upload_for(definition, name) for name, w in widgets.items() if w == "file"})]
    listed = [name for name, w in widgets.items() if w == "add-another"]
    if not listed:
        return None
    schema = definition.property_schema(listed[0])
    low = max(1, int(schema.get("minItems", 1)))
    count = rng.randint(low, max(low, min(3, int(schema.get("maxItems", 3)))))
    steps = [(page.id, _item_fields(definition, listed[0], rng, today))]
    for n in range(2, count + 1):
        steps += [
            (page.id, {"add-another": "yes"}),
            (f"{page.id}/{n}", _item_fields(definition, listed[0], rng, today)),
        ]
    return [*steps, (page.id, {"add-another": "no"})]


def form_posts_for(
    definition: Any, details: dict[str, str], rng: random.Random, today: date | None = None
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """The pages a citizen with ``details`` answers, each with the form fields posted, and the
    answers the service's own parser and journey make of them: ``([(page id, fields)], answers)``.

    An identity kind in ``details`` goes to the question the identity maps it to; a yes-no
    question is answered so the journey asks for the details given (and no others, when it can)
    and never ends on a page that stops it. A file question's page posts an ``UploadFile`` (send
    it multipart to the page's upload form) and an add-another question's steps add generated
    items (``_file_or_item_steps``). Raises ValueError if the answers are not complete.
    """
    from runtime import validation
    from runtime.answers import parse_page
    from runtime.journey import Journey

    definition = _definition(definition)
    service = validation.compiled(definition)
    today = today or date.today()
    identity = definition.identity
    wanted = {p.split(".")[0] for k, p in identity.items() if k in details}
    unwanted = {p.split(".")[0] for k, p in identity.items() if k not in details} - wanted
    journey = Journey(service, {})
    page = journey.path[0] if journey.path else None
    posts: list[tuple[str, dict[str, Any]]] = []
    while page is not None:
        if page.stop:
            raise ValueError(f"{definition.id}: the journey stops at page {page.id!r}")
        steps = _file_or_item_steps(definition, page, rng, today)
        if steps is not None:  # the steps' answers as the pages store them (tests/journeys.py)
            for page_id, fields in steps:
                _, given = JOURNEYS.step_answers(definition, page_id, fields, journey.answers)
                if given is not None:
                    journey = journey.answer(page, given)
                posts.append((page_id, fields))
            page = journey.next_page(page)
            continue
        form = _Form()
        for name in page.questions:
            if definition.questions[name].widget != "yes-no":
                form.update(_field_values(definition, name, details, identity, rng, today))
        yes_no = [q for q in page.questions if definition.questions[q].widget == "yes-no"]
        choices = [[]]
        for q in yes_no:
            choices = [[*c, (q, v)] for c in choices for v in rng.sample(["yes", "no"], 2)]

        def score(
            choice: list[tuple[str, str]], form: _Form = form, page: Any = page, journey: Any = journey
        ) -> tuple[int, int, int]:
            trial = _Form(form, **dict(choice))
            given, _ = parse_page(definition, page.questions, trial)
            path = journey.answer(page, given).path
            asked = {q for p in path for q in p.questions}
            return (-any(p.stop for p in path), len(wanted & asked), -len(unwanted & asked))

        best = max(choices, key=score)  # the first of equals: the order is random
        form.update(dict(best))
        given, _ = parse_page(definition, page.questions, form)
        journey = journey.answer(page, given)
        posts.append((page.id, dict(form)))
        page = journey.next_page(page)
    if not journey.complete:
        raise ValueError(f"{definition.id}: answers incomplete: {journey.errors}")
    return posts, journey.visible_answers


def answers_for(
    definition: Any, details: dict[str, str], rng: random.Random, today: date | None = None
) -> dict[str, Any]:
    """Answers that ``definition`` (a document, or a ``runtime.definition.Definition``) accepts,
    carrying ``details`` where its identity mapping puts them, parsed as the service parses a post.
    A file question's answer is the stored shape with a placeholder id (tests/journeys.py's
    ``step_answers``) naming no stored file: a caller that stores the answers uploads
    ``upload_for``'s file through the upload use case instead (bench/matching_truth.py's ``send``)."""
    return form_posts_for(definition, details, rng, today)[1]


# -- truth and scores ----------------------------------------------------------------------


def truth_pairs(applications: Sequence[Application]) -> set[frozenset[int]]:
    """Pairs of application indexes that are the same person."""
    return pairs_from_clusters([a.person_id for a in applications])


def pairs_from_clusters(labels: Sequence[Hashable]) -> set[frozenset[int]]:
    """Index pairs that share a label (a cluster id per item, or None for an item on its own)."""
    groups: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        if label is not None:
            groups.setdefault(label, []).append(i)
    return {frozenset((a, b)) for members in groups.values() for k, a in enumerate(members) for b in members[k + 1 :]}


def pairwise_scores(predicted_pairs: Iterable[Iterable[int]], true_pairs: set[frozenset[int]]) -> dict[str, Any]:
    """Pairwise precision and recall of predicted links (1.0 when there is nothing to get wrong)."""
    predicted = {frozenset(p) for p in predicted_pairs}
    predicted = {p for p in predicted if len(p) == 2}
    tp = len(predicted & true_pairs)
    fp = len(predicted) - tp
    fn = len(true_pairs) - tp
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


# -- fake_1000 -----------------------------------------------------------------------------


def fake_1000_profiles(path: Path = FAKE_1000) -> list[dict[str, Any]]:
    """Splink's labelled fake_1000 (bench/data/README.md): values stripped, blanks as None,
    ``unique_id`` and ``cluster`` as integers."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        clean = {k: (v.strip() or None) for k, v in row.items()}
        clean["unique_id"], clean["cluster"] = int(row["unique_id"]), int(row["cluster"])
        out.append(clean)
    return out
