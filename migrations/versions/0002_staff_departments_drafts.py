"""staff, departments, drafts; services belong to departments; sessions and submissions pinned to versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 03:30:20.644755
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite: batch mode copies a table, drops the old one and renames the copy. Dropping
    `service` or `service_version` while rows refer to them fails with foreign keys on, so
    they are off while tables are rebuilt, and every reference is checked before they go on.
    (The PRAGMA only works outside a transaction, which is where pysqlite runs DDL.)"""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if on:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rows refer to rows that do not exist: {broken[:5]}")
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _slug(name: str) -> str:
    """The department slug, as runtime.data.departments makes it (kept here: a migration must not change later)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-") or "general"


def _backfill_departments() -> None:
    """Each existing service belongs to the department its current definition names."""
    bind = op.get_bind()
    service = sa.table("service", sa.column("id", sa.String), sa.column("current_version", sa.Integer),
                       sa.column("department_id", sa.Integer))
    version = sa.table("service_version", sa.column("service_id", sa.String), sa.column("version", sa.Integer),
                       sa.column("definition", sa.JSON))
    department = sa.table("department", sa.column("id", sa.Integer), sa.column("slug", sa.String),
                          sa.column("name", sa.String))
    rows = bind.execute(
        sa.select(service.c.id, version.c.definition).join(
            version, sa.and_(version.c.service_id == service.c.id, version.c.version == service.c.current_version)
        )
    ).all()
    ids: dict[str, int] = {}
    for service_id, definition in rows:
        text = definition.get("department") if isinstance(definition, dict) else None
        name = " ".join(text.split())[:200] if isinstance(text, str) and text.strip() else "General"
        slug = _slug(name)
        if slug not in ids:
            bind.execute(sa.insert(department).values(slug=slug, name=name))
            ids[slug] = bind.execute(sa.select(department.c.id).where(department.c.slug == slug)).scalar_one()
        bind.execute(sa.update(service).where(service.c.id == service_id).values(department_id=ids[slug]))


def upgrade() -> None:
    _sqlite_foreign_keys(False)
    op.create_table('department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
    sa.UniqueConstraint('slug', name=op.f('uq_department_slug'))
    )
    op.create_table('staff_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('totp_secret', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('failed_sign_ins', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('oidc_issuer', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('oidc_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_sign_in_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_user')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_user_email')),
    sa.UniqueConstraint('oidc_issuer', 'oidc_subject', name='uq_staff_user_oidc_issuer_subject')
    )
    op.create_table('preview_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_preview_session_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preview_session')),
    sa.UniqueConstraint('user_id', 'service_id', name='uq_preview_session_user_id_service_id')
    )
    op.create_table('service_draft',
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('task_status', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('preview_visited_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('review_branch', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'], name=op.f('fk_service_draft_created_by_staff_user')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_service_draft_department_id_department')),
    sa.ForeignKeyConstraint(['updated_by'], ['staff_user.id'], name=op.f('fk_service_draft_updated_by_staff_user')),
    sa.PrimaryKeyConstraint('service_id', name=op.f('pk_service_draft'))
    )
    with op.batch_alter_table('service_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_draft_department_id'), ['department_id'], unique=False)

    op.create_table('staff_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_staff_role_department_id_department')),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_staff_role_user_id_staff_user')),
    sa.PrimaryKeyConstraint('user_id', 'department_id', 'role', name=op.f('pk_staff_role'))
    )
    with op.batch_alter_table('staff_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_role_department_id'), ['department_id'], unique=False)

    op.create_table('staff_setup_token',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_staff_setup_token_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_setup_token'))
    )
    with op.batch_alter_table('staff_setup_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_setup_token_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('form_session', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_form_session_service_id_service_version'), 'service_version', ['service_id', 'service_version'], ['service_id', 'version'])

    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_service_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_service_department_id_department'), 'department', ['department_id'], ['id'])

    with op.batch_alter_table('service_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('change_summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_service_version_published_by_staff_user'), 'staff_user', ['published_by'], ['id'])

    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_submission_service_id_service_version'), 'service_version', ['service_id', 'service_version'], ['service_id', 'version'])

    _backfill_departments()
    _sqlite_foreign_keys(True)


def downgrade() -> None:
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_submission_service_id_service_version'), type_='foreignkey')

    with op.batch_alter_table('service_version', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_version_published_by_staff_user'), type_='foreignkey')
        batch_op.drop_column('change_summary')
        batch_op.drop_column('published_by')

    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_department_id_department'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_service_department_id'))
        batch_op.drop_column('department_id')

    with op.batch_alter_table('form_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_form_session_service_id_service_version'), type_='foreignkey')

    with op.batch_alter_table('staff_setup_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_setup_token_user_id'))

    op.drop_table('staff_setup_token')
    with op.batch_alter_table('staff_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_role_department_id'))

    op.drop_table('staff_role')
    with op.batch_alter_table('service_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_draft_department_id'))

    op.drop_table('service_draft')
    op.drop_table('preview_session')
    op.drop_table('staff_user')
    op.drop_table('department')
    _sqlite_foreign_keys(True)
