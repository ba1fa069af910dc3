"""The names of the staff roles, with no database import: the checker reads them (a workflow
transition names the roles that may take it), and ``civicforms validate`` must start fast.

runtime.staff gives each role its permissions and re-exports these names.
"""

from __future__ import annotations

DESIGNER, REVIEWER, ADMIN = "designer", "reviewer", "admin"
# The back office's roles (docs/workflow-design.md): they decide cases, and build nothing.
CASEWORKER, MANAGER = "caseworker", "manager"
# Citizen records (issue 16): a records officer reviews possible matches and corrects links; the
# data protection officer reads the access log, keeps sharing agreements, answers subject access
# requests and erases. Neither decides cases.
RECORDS, DPO = "records", "dpo"
ROLES: tuple[str, ...] = (DESIGNER, REVIEWER, ADMIN, CASEWORKER, MANAGER, RECORDS, DPO)
