"""The staff-facing service builder (roadmap step 2, not built yet).

It will import :mod:`runtime` (definitions, checker, the renderer for live preview) and is
never imported by it, so the citizen-facing runtime deploys without it.
"""
