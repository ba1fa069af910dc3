"""Hypothesis strategies for hostile posts to one page of a service, built from its definition.

A case is what a client could send to a question page: the page's own field names (as its
widgets read them: ``name``, ``address.line1``, ``date_of_birth-day``) with valid, missing,
repeated or hostile values, extra keys a tampered form might add, a CSRF token that is right,
wrong, missing or repeated, and a way of sending it (a percent-encoded form, raw bytes, a
multipart body or a content type no form has). Values are bytes, so that a body can carry
what no browser would: invalid UTF-8 (lone surrogates, overlong forms, cut sequences), NUL.
The body itself is built by ``runtime``-independent code here; the harness adds the token.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from runtime.definition import Definition, Page
from runtime.widgets import WIDGETS

# -- what a page posts ------------------------------------------------------------------------


def field_names(definition: Definition, page: Page) -> list[str]:
    """The form keys the page's widgets read, in the page's order."""
    names: list[str] = []
    for name in page.questions:
        if definition.widget(name) == "date":
            names += [f"{name}-day", f"{name}-month", f"{name}-year"]
        else:
            names += [field.path for field in definition.fields_of(name)]
    return names


def option_values(definition: Definition, page: Page) -> list[str]:
    """Every value a choice on the page offers (yes and no for a yes-no question)."""
    values: list[str] = []
    for name in page.questions:
        question = definition.question(name)
        if question.widget == "yes-no":
            values += ["yes", "no"]
        values += [option.value for option in question.options]
    return values


def valid_data(definition: Definition, page: Page) -> dict[str, Any]:
    """A plausible valid answer to a page no happy path answers: the first option, or text."""
    data: dict[str, Any] = {}
    for name in page.questions:
        question = definition.question(name)
        widget = WIDGETS[question.widget]
        if question.widget == "yes-no":
            data[name] = "yes"
        elif question.options:
            first = question.options[0].value
            data[name] = [first] if widget.name == "checkboxes" else first
        elif widget.name in ("text", "textarea"):
            data[name] = "Some words"
    return data


# -- hostile values ---------------------------------------------------------------------------

HOSTILE_TEXT = [
    # empty and space
    "",
    " ",
    " \t\r\n ",
    "\r\n\r\n",
    "\u00a0",
    "\u3000",
    "\u200b",
    # control characters
    "\x00",
    "a\x00b",
    "\x00" * 64,
    "\x1b[31mred",
    "\x7f\x08\x0c",
    # bidi controls and invisible marks
    "\u202e",
    "\u202egnp.exe",
    "\u2066x\u2069",
    "\u200f\u200e\u061c",
    "\u202a\u202b\u202c\u202d",
    # combining marks, emoji, odd code points
    "e" + "\u0301" * 300,
    "Z\u0351\u0352\u0353\u0354\u0355\u0356",
    "\ufeffJane",
    "\ufffd",
    "\uffff\ufffe",
    "\U0010ffff",
    "\U0001f600",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001f1ec\U0001f1e7",
    "\u0130\u00df\ufb03\u01c5",
    "\u0645\u0631\u062d\u0628\u0627",
    # numbers as text
    "0",
    "-0",
    "-1",
    "1.5",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "9" * 400,
    "9" * 5000,
    "1_000",
    "\uff10\uff11\uff12",
    "\u0661\u0662\u0663",
    "\u00b2\u2070\u00b2\u2074",
    "0x1F",
    "1,000,000",
    "\u00a35",
    "00000000000000000001",
    # dates
    "31/02/99999",
    "2024-02-30",
    "99999",
    "0000",
    "-001",
    "29",
    "13",
    "00",
    # things that look like markup, code or other keys' values
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "{0}{1}",
    "%s%n%x",
    "' OR '1'='1",
    "../../etc/passwd",
    "true",
    "null",
    "[]",
    "{}",
    "yes",
    "no",
    "YES",
    " yes ",
    "on",
    "SW1A 1AA",
    "sw1a1aa",
    "943 476 5919",
    "9434765919",
    "QQ 12 34 56 C",
    "a@b.co",
    "@",
]

# Bytes that are not UTF-8, or that mean something in a form body when sent raw.
HOSTILE_BYTES = [
    b"\xff\xfe",
    b"\xed\xa0\x80",  # a lone high surrogate, as CESU would write it
    b"\xed\xbf\xbf",  # a lone low surrogate
    b"\xc0\xaf",  # an overlong "/"
    b"\xe2\x82",  # a sequence cut short
    b"\x80",
    b"a\xffb",
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"%",
    b"%zz",
    b"%00",
    b"%FF",
    b"+",
    b"&",
    b"=",
    b"a=b&c",
    b"\r\n--",
]

_LONG_UNITS = ["x", "\u00e9", "\U0001f600", "\u202e", "\x00", " ", "9", "<b>"]


def _long(unit: str, size: int) -> bytes:
    """``unit`` repeated to about ``size`` bytes of UTF-8."""
    encoded = unit.encode()
    return encoded * max(1, size // len(encoded))


def giant_values() -> st.SearchStrategy[bytes]:
    """Long values, from past any maxLength to past the post size limit (64 KiB by default)."""
    return st.builds(_long, st.sampled_from(_LONG_UNITS), st.sampled_from([201, 1201, 5000, 30_000, 65_000, 70_000]))


def number_texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    )


def date_texts() -> st.SearchStrategy[str]:
    part = st.one_of(st.integers(min_value=-5, max_value=100_000).map(str), st.sampled_from(["", "0", "00", "02"]))
    return st.builds(lambda d, m, y, sep: sep.join((d, m, y)), part, part, part, st.sampled_from(["/", "-", " "]))


def hostile_values(options: list[str] | None = None) -> st.SearchStrategy[bytes]:
    """One value: hostile text, bytes that are not UTF-8, random text or bytes, long, or valid."""
    choices = [
        st.sampled_from(HOSTILE_TEXT).map(str.encode),
        st.sampled_from(HOSTILE_BYTES),
        st.text(max_size=40).map(str.encode),
        st.binary(max_size=24),
        number_texts().map(str.encode),
        date_texts().map(str.encode),
    ]
    if options:
        choices += [
            st.sampled_from(options).map(str.encode),
            st.sampled_from(options).map(lambda o: f" {o.upper()}\u200b".encode()),
        ]
    return st.one_of(*choices)


# -- keys -------------------------------------------------------------------------------------

JUNK_KEYS = [
    b"",
    b"is_admin",
    b"reference",
    b"citizen_id",
    b"submission_reference",
    b"__proto__",
    b"constructor",
    b"address",
    b"address.",
    b"address.country",
    b"address.line1.extra",
    b"address[line1]",
    b"date_of_birth-hour",
    b"a" * 1000,
    b"\xff\xfe",
    b"na\x00me",
    "\u202ename".encode(),
    b"csrf_token ",
    b"CSRF_TOKEN",
]


def junk_keys(service_keys: list[str]) -> st.SearchStrategy[bytes]:
    """Keys no page of ours reads, or reads on another page."""
    choices = [st.sampled_from(JUNK_KEYS), st.binary(min_size=1, max_size=12)]
    if service_keys:
        choices.append(st.sampled_from(service_keys).map(str.encode))
    return st.one_of(*choices)


# -- a whole post -----------------------------------------------------------------------------

# The CSRF token: "valid" sends the session's token once; the rest must be refused with 400.
CSRF_MODES = ["valid"] * 8 + ["missing", "wrong", "wrong-first", "valid-twice"]
# How the body is sent.
ENCODINGS = ["urlencoded"] * 10 + ["raw", "raw", "multipart", "multipart", "latin-1", "text/plain", "json", "none"]
QUERIES = ["", "", "", "?change=1", "?change=%FF", "?change=1&change=0", "?x=%00"]
REFUSED_CSRF = {"missing", "wrong", "wrong-first"}
WRONG_TYPES = {"text/plain", "json", "none"}
BOUNDARY = b"fuzzBoundary7MA4YWxkTrZu0gW"


@dataclass(frozen=True)
class Post:
    """One hostile post to a page, before the session's CSRF token is added."""

    pairs: tuple[tuple[bytes, bytes], ...]
    csrf: str
    csrf_at: int
    encoding: str
    query: str

    @classmethod
    def of(cls, data: dict[str, Any], csrf: str = "valid") -> Post:
        """An ordinary form post of ``data`` (a list value is a repeated field)."""
        pairs = tuple(
            (key, str(v).encode())
            for key, value in data.items()
            for v in (value if isinstance(value, list) else [value])
        )
        return cls(
            pairs=tuple((k.encode(), v) for k, v in pairs), csrf=csrf, csrf_at=0, encoding="urlencoded", query=""
        )

    def with_token(self, token: str) -> list[tuple[bytes, bytes]]:
        pairs = list(self.pairs)
        tokens = {
            "valid": [token],
            "missing": [],
            "wrong": ["forged"],
            "wrong-first": ["forged", token],
            "valid-twice": [token, token],
        }[self.csrf]
        at = min(self.csrf_at, len(pairs))
        return pairs[:at] + [(b"csrf_token", t.encode()) for t in tokens] + pairs[at:]

    def body(self, token: str) -> tuple[bytes, str | None]:
        """``(body, content type)``: the post as the wire carries it."""
        pairs = self.with_token(token)
        if self.encoding == "multipart":
            parts = [
                b"--" + BOUNDARY + b"\r\n"
                b'Content-Disposition: form-data; name="' + _header_safe(k) + b'"\r\n\r\n' + v + b"\r\n"
                for k, v in pairs
            ]
            return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n", "multipart/form-data; boundary=" + BOUNDARY.decode()
        if self.encoding == "raw":
            return b"&".join(k + b"=" + v for k, v in pairs), "application/x-www-form-urlencoded"
        if self.encoding == "json":
            doc = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}
            return json.dumps(doc).encode(), "application/json"
        encoded = "&".join(
            urllib.parse.quote_from_bytes(k, safe="") + "=" + urllib.parse.quote_from_bytes(v, safe="")
            for k, v in pairs
        ).encode()
        if self.encoding == "text/plain":
            return encoded, "text/plain"
        if self.encoding == "none":
            return encoded, None
        if self.encoding == "latin-1":
            return encoded, "application/x-www-form-urlencoded; charset=iso-8859-1"
        return encoded, "application/x-www-form-urlencoded"

    def describe(self, limit: int = 300) -> str:
        """A short, printable account of the post, for a report."""
        shown = [(k[:40], v[:limit] + (b"..." if len(v) > limit else b"")) for k, v in self.pairs]
        return f"encoding={self.encoding} csrf={self.csrf} query={self.query!r} pairs={shown!r}"


def _header_safe(name: bytes) -> bytes:
    """A multipart field name cannot hold a quote or a line break without ending the header."""
    return name.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")


# What happens to each of the page's own fields.
_ACTIONS = ["keep"] * 5 + ["drop", "hostile", "hostile", "hostile", "repeat", "giant"]


@st.composite
def posts(draw: st.DrawFn, definition: Definition, page: Page, valid: dict[str, Any]) -> Post:
    """A post to ``page``: its fields kept valid, dropped, repeated or hostile, with extras."""
    options = option_values(definition, page)
    values = hostile_values(options)
    pairs: list[tuple[bytes, bytes]] = []
    for name in field_names(definition, page):
        kept = valid.get(name, "")
        kept_values = kept if isinstance(kept, list) else [kept]
        action = draw(st.sampled_from(_ACTIONS), label=f"action:{name}")
        key = name.encode()
        if action == "keep":
            pairs += [(key, str(v).encode()) for v in kept_values]
        elif action == "hostile":
            pairs.append((key, draw(values)))
        elif action == "repeat":
            pairs += [(key, v) for v in draw(st.lists(values, min_size=2, max_size=4))]
        elif action == "giant":
            pairs.append((key, draw(giant_values())))
    others = sorted(
        {f for p in definition.pages for f in field_names(definition, p)} - set(field_names(definition, page))
    )
    pairs += draw(st.lists(st.tuples(junk_keys(others), values), max_size=4))
    if draw(st.booleans()):
        pairs = draw(st.permutations(pairs))
    return Post(
        pairs=tuple(pairs),
        csrf=draw(st.sampled_from(CSRF_MODES)),
        csrf_at=draw(st.integers(min_value=0, max_value=len(pairs))),
        encoding=draw(st.sampled_from(ENCODINGS)),
        query=draw(st.sampled_from(QUERIES)),
    )
