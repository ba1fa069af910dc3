"""The staff-facing service builder: designers edit, preview, try and publish services.

It imports :mod:`runtime` (definitions, the checker, the renderer for the live preview, the
data repositories) and is never imported by it, so the citizen-facing runtime deploys without it; the
import-linter contracts in pyproject.toml hold both to that.
"""
