"""Civic Forms runtime: the engine that loads, checks, renders and stores e-services.

Modules at this level never import Flask; the web layers live in :mod:`runtime.web`.
"""
