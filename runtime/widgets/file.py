"""A file question: the citizen uploads one file at a time, up to the question's limit
(docs/uploads.md, "The citizen's pages").

The property is an array of uploaded files, each ``{"id", "name", "size", "type"}`` (the
"upload" format checks that shape), with ``maxItems``::

    "photo": {"type": "array", "items": {"type": "object", "format": "upload"}, "maxItems": 1}

and the question names the kinds of file it takes and the largest size::

    "photo": {"label": "...", "widget": "file", "accept": ["jpeg", "png"], "max_size_mb": 10}

An answer is written only by the upload use case (``runtime.services.uploading``), once the
file has passed every check and the virus scan: ``parse`` never reads one from a post, so a
posted id is never trusted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..uploads import KINDS, kind_labels
from .base import FormData, Resolve, Widget, error_param, heading, html_id

if TYPE_CHECKING:
    from ..questions import Question

DEFAULT_MAX_SIZE_MB = 10
MAX_SIZE_MB = 50  # the format's cap (the meta-schema's maximum); CIVICFORMS_MAX_UPLOAD_MB caps lower
MAX_FILES = 20  # the largest maxItems a file question may have
_ID = re.compile(r"[0-9a-f]{32}")


def is_upload(value: Any) -> bool:
    """The stored shape of one uploaded file (the "upload" format)."""
    return (
        isinstance(value, dict)
        and set(value) == {"id", "name", "size", "type"}
        and isinstance(value["id"], str)
        and _ID.fullmatch(value["id"]) is not None
        and isinstance(value["name"], str)
        and 0 < len(value["name"]) <= 255
        and isinstance(value["size"], int)
        and not isinstance(value["size"], bool)
        and value["size"] > 0
        and isinstance(value["type"], str)
        and 0 < len(value["type"]) <= 100
    )


def kinds_in_words(accept: tuple[str, ...] | list[str]) -> str:
    """ "a JPG, PNG or PDF": the kinds a question takes, as the citizen calls them."""
    known = [k for k in accept if k in KINDS]
    return f"a {kind_labels(known)}" if known else "a file"


def size_in_words(size: int) -> str:
    """A file's size as GOV.UK writes it: "820KB", "2.4MB" (1KB = 1,024 bytes)."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))}KB"
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.1f}MB".replace(".0MB", "MB")


def limits_in_words(accept: tuple[str, ...] | list[str], max_size_mb: int, max_files: int) -> str:
    """The question's limits in plain words, for its hint and the builder: "Upload up to 2 files.
    Each must be a JPG, PNG or PDF, smaller than 10MB." """
    kinds = kinds_in_words(accept)
    if max_files == 1:
        return f"The file must be {kinds}, smaller than {max_size_mb}MB."
    return f"Upload up to {max_files} files. Each must be {kinds}, smaller than {max_size_mb}MB."


def max_files(q: Question) -> int:
    limit = q.schema.get("maxItems")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else 1


def max_size_mb(q: Question) -> int:
    return q.max_size_mb or DEFAULT_MAX_SIZE_MB


@dataclass(frozen=True)
class FileUpload(Widget):
    def new_property(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "object", "format": "upload"}, "maxItems": 1}

    def new_question(self, label: str) -> dict[str, Any]:
        return {
            "label": label,
            "widget": self.name,
            "accept": ["jpeg", "png", "pdf"],
            "max_size_mb": DEFAULT_MAX_SIZE_MB,
        }

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        where = f"$.schema.properties.{name}"
        items = resolve(schema.get("items"))
        # Exactly this: the upload use case writes each file's answer, and any other keyword
        # ("additionalProperties", a "maximum" size) could refuse the answer it wrote, after the scan.
        if items != {"type": "object", "format": "upload"}:
            yield f"{where}.items", 'a file question\'s items must be exactly {"type": "object", "format": "upload"}'
        most = schema.get("maxItems")
        if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= MAX_FILES:
            yield where, f'a file question needs "maxItems" from 1 to {MAX_FILES}: how many files it takes'
        else:
            least = schema.get("minItems", 0)
            if not isinstance(least, int) or isinstance(least, bool) or not 0 <= least <= most:
                yield f"{where}.minItems", f'"minItems" must be a whole number from 0 to "maxItems" ({most})'
        accept = question.get("accept")
        if not isinstance(accept, list) or not accept:
            yield (
                f"$.questions.{name}",
                f'a file question needs "accept": the kinds of file it takes ({", ".join(KINDS)})',
            )
        else:
            unknown = [str(k) for k in accept if k not in KINDS]
            if unknown:
                yield (
                    f"$.questions.{name}.accept",
                    f"{', '.join(unknown)} is not a kind of file the runtime can check: use {', '.join(KINDS)}",
                )
        size = question.get("max_size_mb", DEFAULT_MAX_SIZE_MB)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE_MB:
            yield f"$.questions.{name}.max_size_mb", f'"max_size_mb" must be a whole number from 1 to {MAX_SIZE_MB}'

    def parse(self, q: Question, form: FormData) -> tuple[Any, dict[str, Any]]:
        # Never from a post: the upload use case writes the answer (a posted id is not trusted).
        return None, {}

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        return {}

    def display(self, q: Question, value: Any) -> list[str]:
        if not isinstance(value, list):
            return [] if value is None else [str(value)]
        return [f"{item['name']} ({size_in_words(item['size'])})" if is_upload(item) else str(item) for item in value]

    def anchor(self, name: str, path: str) -> str:
        return f"#{html_id(name)}"

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        accept = q.accept or tuple(KINDS)
        limits = limits_in_words(accept, max_size_mb(q), max_files(q))
        extensions = [ext for kind in accept if kind in KINDS for ext in KINDS[kind].extensions]
        mimes = [KINDS[kind].mime for kind in accept if kind in KINDS]
        return {
            "macro": "govukFileUpload",
            "params": {
                "id": html_id(q.name),
                "name": q.name,
                "label": heading(q.label, as_heading),
                "hint": {"text": f"{q.hint} {limits}" if q.hint else limits},
                "errorMessage": error_param(errors, q.name),
                "attributes": {"accept": ",".join([*extensions, *mimes])},
            },
        }

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "required" or (keyword == "minItems" and limit == 1):
            return f"Select {name}"
        if keyword == "minItems":
            return f"Upload at least {limit} files"
        if keyword == "maxItems":
            return f"You can only upload {limit} file{'s' if limit != 1 else ''}"
        if keyword in ("type", "items", "format"):
            return f"Upload {name} again"
        return super().message(keyword, limit, name, cap, instance)


FILE = FileUpload("file", "File upload", frozenset({"array"}), choose=True)
