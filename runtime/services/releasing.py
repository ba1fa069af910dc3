"""Releasing what the definitions folder says: ``civicforms load`` (and, later, ``plan``).

The folder (or a git ref) is the source of truth that IT reviews; these use cases make the live
database match it. Each takes an explicit session and owns its transaction.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from ..data import published
from ..definition import read_file
from ..problems import Problem
from .unit_of_work import atomic


def load_folder(
    *,
    session: Session,
    folder: Path,
    moves: dict[str, dict[str, str]] | None = None,
    create_departments: bool = False,
) -> list[tuple[Path, published.PublishResult | published.PublishError]]:
    """``civicforms load``: publish every definition in a folder; each file commits or fails on its own.

    ``moves`` maps a service id to where its open cases go when the new version removes their
    state (see ``published.publish``). A file naming a department that does not exist fails, unless
    ``create_departments`` (IT's deliberate choice) makes it.
    """
    results: list[tuple[Path, published.PublishResult | published.PublishError]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            with atomic(session):
                doc = read_file(path)
                if doc.get("id") != path.stem:
                    raise published.PublishError([Problem("$.id", f"must match the file name {path.stem!r}")])
                result = published.publish(
                    session=session,
                    doc=doc,
                    state_mapping=(moves or {}).get(path.stem),
                    create_departments=create_departments,
                )
            results.append((path, result))
        except published.PublishError as exc:
            results.append((path, exc))
        except Exception as exc:  # noqa: BLE001 - a broken file must never stop the others
            results.append((path, published.PublishError([Problem("$", str(exc))])))
    return results
