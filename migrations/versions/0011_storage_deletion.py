"""storage_deletion: the bytes of uploaded files to delete once their rows are gone

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 01:00:00.000000

A file's row and the queueing of its bytes' deletion commit together; the bytes are deleted just
after, and a storage that fails leaves the row here for the worker to try again (docs/uploads.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    at = sqlmodel.sql.sqltypes.UTCDateTime
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "storage_deletion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", text(length=32), nullable=False),
        sa.Column("queued_at", at(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", at(), nullable=False),
        sa.Column("last_error", text(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_deletion")),
    )
    with op.batch_alter_table("storage_deletion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storage_deletion_next_attempt_at"), ["next_attempt_at"], unique=False)


def downgrade() -> None:
    """Back to 0010: deletions still queued are forgotten (their bytes stay in storage: run
    ``civicforms worker`` until the table is empty first)."""
    with op.batch_alter_table("storage_deletion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_deletion_next_attempt_at"))
    op.drop_table("storage_deletion")
