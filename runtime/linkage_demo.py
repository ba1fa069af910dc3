"""Synthetic citizen profiles for training the shipped linkage model and for benchmarks (no internet needed).

``python -m runtime.linkage_demo --train-demo`` rewrites runtime/linkage_model.json deterministically.
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

from runtime import linkage
from runtime.nicknames import NICKNAMES

FIRST_NAMES = sorted(set(NICKNAMES.values())) + [
    "olivia",
    "amelia",
    "isla",
    "ava",
    "mia",
    "noah",
    "george",
    "leo",
    "arthur",
    "muhammad",
    "oscar",
    "harry",
    "jose",
    "priya",
    "aisha",
    "fatima",
    "mohammed",
    "ali",
    "chloe",
    "grace",
    "lucy",
    "ruby",
    "evie",
    "freya",
    "ethan",
    "lucas",
    "mason",
    "logan",
    "rhys",
    "owen",
    "callum",
    "kieran",
    "siobhan",
    "niamh",
    "aoife",
    "sian",
]
SURNAMES = [
    "smith",
    "jones",
    "williams",
    "taylor",
    "brown",
    "davies",
    "evans",
    "wilson",
    "thomas",
    "johnson",
    "roberts",
    "robinson",
    "thompson",
    "wright",
    "walker",
    "white",
    "edwards",
    "hughes",
    "green",
    "hall",
    "lewis",
    "harris",
    "clarke",
    "patel",
    "jackson",
    "wood",
    "turner",
    "martin",
    "cooper",
    "hill",
    "ward",
    "morris",
    "moore",
    "clark",
    "lee",
    "king",
    "baker",
    "harrison",
    "morgan",
    "allen",
    "james",
    "scott",
    "phillips",
    "watson",
    "davis",
    "parker",
    "price",
    "bennett",
    "young",
    "griffiths",
    "mitchell",
    "kelly",
    "cook",
    "carter",
    "richardson",
    "bailey",
    "collins",
    "bell",
    "shaw",
    "murphy",
    "miller",
    "cox",
    "richards",
    "khan",
    "marshall",
    "anderson",
    "simpson",
    "ellis",
    "adams",
    "singh",
    "begum",
    "wilkinson",
    "foster",
    "chapman",
    "powell",
    "webb",
    "rogers",
    "gray",
    "mason",
    "ali",
    "hunt",
    "hussain",
    "campbell",
    "matthews",
    "owen",
    "palmer",
    "holmes",
    "mills",
    "barnes",
    "knight",
    "lloyd",
    "butler",
    "russell",
    "barker",
    "fisher",
    "stevens",
    "jenkins",
    "murray",
    "dixon",
    "harvey",
    "garcia",
    "lopez",
    "nowak",
    "kowalski",
    "okafor",
    "mensah",
    "nguyen",
    "chen",
    "wong",
    "ahmed",
    "rahman",
]
DOMAINS = ["gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com", "icloud.com"]
AREAS = ["SW1A", "E1", "N7", "M1", "B15", "LS6", "CF10", "G12", "BS8", "L17", "NE6", "S10", "EH3", "OX4", "CB2"]


def _nhs(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789") for _ in range(10))


def _ni(rng: random.Random) -> str:
    letters = "ABCEGHJKLMNPRSTWXYZ"
    return rng.choice(letters) + rng.choice(letters) + f"{rng.randrange(10**6):06d}" + rng.choice("ABCD")


def _postcode(rng: random.Random) -> str:
    return (
        rng.choice(AREAS)
        + str(rng.randrange(10))
        + rng.choice("ABDEFGHJLNPQRSTUWXYZ") * 1
        + rng.choice("ABDEFGHJLNPQRSTUWXYZ")
    )


def _dob(rng: random.Random) -> str:
    return f"{rng.randrange(1930, 2008)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice("aeiourstln") + text[i + 1 :]


def _person(rng: random.Random, surname: str | None = None, household: dict[str, Any] | None = None) -> dict[str, Any]:
    first = rng.choice(FIRST_NAMES)
    surname = surname or rng.choice(SURNAMES)
    middle = rng.choice(FIRST_NAMES) if rng.random() < 0.2 else None
    full = " ".join(part for part in (first, middle, surname) if part)
    person = {
        "full_name": full,
        "date_of_birth": _dob(rng),
        "email": f"{first}.{surname}{rng.randrange(100)}@{rng.choice(DOMAINS)}",
        "phone": f"+4477009{rng.randrange(10**5):05d}",
        "postcode": _postcode(rng),
        "nhs_number": _nhs(rng),
        "ni_number": _ni(rng),
    }
    if household:
        person.update(household)
    return person


def _record(rng: random.Random, person: dict[str, Any], corrupt: bool) -> dict[str, Any]:
    record = dict(person)
    for key, share in (("email", 0.3), ("phone", 0.3), ("nhs_number", 0.6), ("ni_number", 0.6), ("postcode", 0.05)):
        if rng.random() < share:
            record[key] = None
    if not corrupt:
        return record
    tokens = record["full_name"].split()
    roll = rng.random()
    reverse = {v: k for k, v in NICKNAMES.items()}
    if roll < 0.25 and tokens[0] in reverse:
        tokens[0] = reverse[tokens[0]]
    elif roll < 0.45:
        tokens[rng.choice([0, -1])] = _typo(rng, tokens[rng.choice([0, -1])])
    elif roll < 0.5:
        tokens = [tokens[-1], *tokens[:-1]]
    elif roll < 0.55 and len(tokens) > 2:
        tokens = [tokens[0], tokens[-1]]
    elif roll < 0.58:
        tokens = [rng.choice(tokens)]  # one name given
    record["full_name"] = " ".join(tokens)
    dob = record["date_of_birth"]
    roll = rng.random()
    if roll < 0.05 and int(dob[8:]) <= 12:
        record["date_of_birth"] = f"{dob[:4]}-{dob[8:]}-{dob[5:7]}"
    elif roll < 0.09:
        record["date_of_birth"] = dob[:9] + str((int(dob[9]) + 1) % 10) if dob[9] != "9" else dob[:9] + "8"
    elif roll < 0.11:
        record["date_of_birth"] = f"{int(dob[:4]) + rng.choice([-1, 1])}{dob[4:]}"
    elif roll < 0.13:
        record["date_of_birth"] = None
    if rng.random() < 0.25:
        record["postcode"] = _postcode(rng)  # moved house
    if rng.random() < 0.15 and record["email"]:
        local = record["email"].split("@")[0]
        record["email"] = f"{local}@{rng.choice(DOMAINS)}"
    if rng.random() < 0.15:
        record["phone"] = f"+4477009{rng.randrange(10**5):05d}"
    return record


def generate(count: int, *, seed: int = 16) -> list[dict[str, Any]]:
    """About ``count`` profiles with a ``person_id`` (the truth): duplicates, households, twins and couples."""
    rng = random.Random(seed)
    profiles: list[dict[str, Any]] = []
    person_number = 0
    while len(profiles) < count:
        household_size = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
        first = _person(rng)
        shared = {key: first[key] for key in ("postcode", "phone", "email") if rng.random() < 0.6}
        people = [first]
        for _ in range(household_size - 1):
            member = _person(rng, surname=first["full_name"].split()[-1], household=shared)
            if rng.random() < 0.3:
                member["date_of_birth"] = first["date_of_birth"]  # twins
            people.append(member)
        for person in people:
            person_number += 1
            copies = rng.choices([1, 2, 3, 4], weights=[5, 3, 1, 1])[0]
            for copy in range(copies):
                record = _record(rng, person, corrupt=copy > 0)
                record["unique_id"] = f"p{len(profiles)}"
                record["person_id"] = f"c{person_number}"
                profiles.append(record)
    return profiles[:count]


def main(argv: list[str] | None = None) -> int:
    """Train the shipped model on synthetic data and write it (``--train-demo``)."""
    parser = argparse.ArgumentParser(prog="python -m runtime.linkage_demo")
    parser.add_argument("--train-demo", action="store_true", help="retrain runtime/linkage_model.json")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--output", default=str(linkage.DEFAULT_MODEL_PATH))
    args = parser.parse_args(argv)
    if not args.train_demo:
        parser.print_help()
        return 2
    model = linkage.train(generate(args.count), progress=lambda step, done, total: None)
    model.save(args.output)
    sys.stdout.write(f"wrote {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
