"""CDS Hooks JWT ids already accepted (replay protection that survives a restart).

Revision ID: e001
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = 'e001'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cds_jti',
    sa.Column('iss', sa.String(length=500), nullable=False),
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('iss', 'jti')
    )
    with op.batch_alter_table('cds_jti', schema=None) as batch_op:
        batch_op.create_index('ix_cds_jti_expires_at', ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cds_jti', schema=None) as batch_op:
        batch_op.drop_index('ix_cds_jti_expires_at')
    op.drop_table('cds_jti')
