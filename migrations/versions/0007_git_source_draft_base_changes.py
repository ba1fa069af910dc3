"""versions remember the git commit they were loaded from; drafts remember what they are based on and who changed what

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 12:00:00.000000

``service_version.source_commit`` and ``source_path``: for a version ``civicforms load`` brought
in from a git work tree (or ref), the commit and the file it came from, so the builder's history
shows "loaded from git, commit abc1234" instead of "no summary recorded".

``service_draft.base_definition``: the definition the draft was started from (a published
version, or the version it last sent for review), so that when a newer version arrives from git
the draft can be rebased on it by a three-way merge. Null for drafts older than this migration:
the published ``base_version`` stands in.

``draft_change``: one row per saved edit of a draft: who, when, and which parts of the
definition they changed, so that a publish credits each designer with their own changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild on SQLite, where service_version is referenced).
    op.add_column("service_version", sa.Column("source_commit", sa.String(length=64), nullable=True))
    op.add_column("service_version", sa.Column("source_path", sa.String(length=300), nullable=True))
    op.add_column("service_draft", sa.Column("base_definition", sa.JSON(), nullable=True))
    op.create_table(
        "draft_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "service_id",
            sa.String(length=60),
            sa.ForeignKey("service_draft.service_id", ondelete="CASCADE", name="fk_draft_change_service_id_service_draft"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("staff_user.id", name="fk_draft_change_user_id_staff_user"),
            nullable=True,
        ),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("parts", JSONType, nullable=False),
    )
    op.create_index("ix_draft_change_service_id", "draft_change", ["service_id"])


def downgrade() -> None:
    op.drop_index("ix_draft_change_service_id", table_name="draft_change")
    op.drop_table("draft_change")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): no rebuild of a referenced table.
    op.drop_column("service_draft", "base_definition")
    op.drop_column("service_version", "source_path")
    op.drop_column("service_version", "source_commit")
