"""uploads: files citizens send, and documents a request for information asks for

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 21:00:00.000000

Issue 18 (docs/uploads.md). ``upload`` holds one row per file that passed its checks: ``waiting``
while its virus scan could not run yet (the bytes in quarantine, shown to nobody), ``clean`` once
scanned (the bytes in storage). It belongs to a form session until the form is sent (and expires
with it), then to the submission; a file sent in answer to a request for information names the
request too. ``information_request.documents`` lists the documents a caseworker asked for.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    at = sqlmodel.sql.sqltypes.UTCDateTime
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "upload",
        sa.Column("id", text(length=32), nullable=False),
        sa.Column("form_session_id", text(length=64), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("service_id", text(length=60), nullable=False),
        sa.Column("question", text(length=200), nullable=False),
        sa.Column("filename", text(length=255), nullable=False),
        sa.Column("content_type", text(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", text(length=64), nullable=False),
        sa.Column("status", text(length=20), nullable=False),
        sa.Column("storage_key", text(length=200), nullable=True),
        sa.Column("thumbnail_key", text(length=200), nullable=True),
        sa.Column("created_at", at(), nullable=False),
        sa.Column("scanned_at", at(), nullable=True),
        sa.Column("expires_at", at(), nullable=True),
        sa.CheckConstraint("status IN ('waiting', 'clean')", name=op.f("ck_upload_ck_upload_status")),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_upload_submission_id_submission")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["information_request.id"], name=op.f("fk_upload_request_id_information_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload")),
    )
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_form_session_id"), ["form_session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_upload_submission_id"), ["submission_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_upload_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_upload_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            "ix_upload_waiting",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("status = 'waiting'"),
            sqlite_where=sa.text("status = 'waiting'"),
        )
    with op.batch_alter_table("information_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("documents", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True))


def downgrade() -> None:
    """Back to 0009: the rows of uploaded files go (their bytes stay in storage: delete them
    first with ``civicforms retention run`` or by hand), and so do the documents asked for."""
    with op.batch_alter_table("information_request", schema=None) as batch_op:
        batch_op.drop_column("documents")
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.drop_index("ix_upload_waiting", sqlite_where=sa.text("status = 'waiting'"))
        batch_op.drop_index(batch_op.f("ix_upload_expires_at"))
        batch_op.drop_index(batch_op.f("ix_upload_request_id"))
        batch_op.drop_index(batch_op.f("ix_upload_submission_id"))
        batch_op.drop_index(batch_op.f("ix_upload_form_session_id"))
    op.drop_table("upload")
