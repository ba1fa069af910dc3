"""Data access, one repository per aggregate: departments, published services, builder drafts,
form sessions, submissions and citizen records.

Every function takes the session explicitly and keyword-only arguments, and never ends the
caller's transaction; no business rule beyond what keeps the rows consistent, and no wording a
face shows (the faces word the values these return). Published definitions and their cache are
in runtime/versions.py, cases in runtime/cases.py.
"""
