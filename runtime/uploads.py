"""What a file is and whether a service may take it (docs/uploads.md): pure, no web framework.

Owned by part A of issue 18. Contract (the other parts code against it):

- ``KINDS``: {kind name: Kind(name, label, mime, extensions)} for the kinds a definition's
  ``accept`` may list ("jpeg", "png", "pdf", ...); ``label`` is the citizen's word ("JPG").
- ``safe_filename(name) -> str``: the name as shown and stored: no path, no control characters.
- ``FileRefused(message)``: ``message`` is what the citizen is told, GOV.UK wording.
- ``check_file(path, *, accept, max_bytes) -> Checked``: the kind from the content, images
  re-encoded in place without metadata, PDFs read for what the service allows; raises
  FileRefused.
- ``thumbnail(path) -> bytes | None``: a small PNG of an image, for staff.
"""

from __future__ import annotations
