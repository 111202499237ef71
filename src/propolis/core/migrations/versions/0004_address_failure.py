"""address_failure: failed password checks per client address, shared by every process

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:23:33.469313
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_failure",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_address_failure")),
    )


def downgrade() -> None:
    op.drop_table("address_failure")
