"""Fixtures for the upload tests: a real clamd with a local EICAR signature, and an
S3-compatible server (moto's standalone server) started as a process.

Owned by part A of issue 18 (docs/uploads.md). Registered in tests/conftest.py.
"""

from __future__ import annotations
