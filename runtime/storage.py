"""Where uploaded files are kept, behind one interface (docs/uploads.md).

Owned by part A of issue 18. Contract: ``Storage`` with ``put(key, source, content_type)``,
``open(key) -> BinaryIO`` (streamed), ``delete(key)``, ``exists(key)``; ``LocalStorage`` (a
folder outside the web root) and ``S3Storage`` (boto3, server-side encryption); and
``storage_for(settings) -> Storage``.
"""

from __future__ import annotations
