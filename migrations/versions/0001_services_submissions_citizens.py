"""services submissions citizens

Revision ID: 0001
Revises:
Create Date: 2026-11-28 17:43:22.462994
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('citizen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen'))
    )
    op.create_table('service',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service'))
    )
    op.create_table('citizen_identifier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_citizen_identifier_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_identifier')),
    sa.UniqueConstraint('kind', 'value', name='uq_citizen_identifier_kind_value')
    )
    with op.batch_alter_table('citizen_identifier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_identifier_citizen_id'), ['citizen_id'], unique=False)

    op.create_table('form_session',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('service_version', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('submission_reference', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_form_session_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_session'))
    )
    with op.batch_alter_table('form_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_session_expires_at'), ['expires_at'], unique=False)

    op.create_table('service_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_version_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_version')),
    sa.UniqueConstraint('service_id', 'version', name='uq_service_version_service_id_version')
    )
    with op.batch_alter_table('service_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_version_service_id'), ['service_id'], unique=False)

    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('service_version', sa.Integer(), nullable=False),
    sa.Column('definition_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('form_session_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_submission_citizen_id_citizen')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_submission_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission')),
    sa.UniqueConstraint('form_session_id', name=op.f('uq_submission_form_session_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_submission_reference'))
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_service_id'), ['service_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_service_id'))
        batch_op.drop_index(batch_op.f('ix_submission_citizen_id'))

    op.drop_table('submission')
    with op.batch_alter_table('service_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_version_service_id'))

    op.drop_table('service_version')
    with op.batch_alter_table('form_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_session_expires_at'))

    op.drop_table('form_session')
    with op.batch_alter_table('citizen_identifier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_identifier_citizen_id'))

    op.drop_table('citizen_identifier')
    op.drop_table('service')
    op.drop_table('citizen')
