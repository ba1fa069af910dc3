"""Reference numbers citizens can read out on the phone: no 0/O, 1/I/L or U."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(prefix: str) -> str:
    """``PRK-7KD4-9XQ2``: 8 random characters, 30**8 (6.6e11) possibilities per service."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{prefix}-{chars[:4]}-{chars[4:]}"


def normalise_reference(text: str) -> str:
    """What a citizen types back (``prk 7kd4 9xq2``) in the stored form."""
    squashed = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(squashed) < 9:
        return squashed
    # Only the random part avoids look-alikes: a prefix such as BIN keeps its I.
    prefix, rest = squashed[:-8], squashed[-8:]
    rest = rest.replace("O", "0").replace("I", "1").replace("L", "1")
    return f"{prefix}-{rest[:4]}-{rest[4:]}"
