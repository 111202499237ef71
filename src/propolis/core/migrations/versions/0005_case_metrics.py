"""case_metric and case_metric_value: TheHive 4's case metrics (definitions, and the
values of cases and case templates)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 03:54:46.801879
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_metric",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_metric")),
        sa.UniqueConstraint("name", name=op.f("uq_case_metric_name")),
    )
    op.create_table(
        "case_metric_value",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("metric_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("case_template_id", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name=op.f("fk_case_metric_value_case_id_case_file"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_template_id"],
            ["case_template.id"],
            name=op.f("fk_case_metric_value_case_template_id_case_template"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["case_metric.id"],
            name=op.f("fk_case_metric_value_metric_id_case_metric"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_metric_value")),
        sa.UniqueConstraint("metric_id", "case_id", name="uq_case_metric_value_case"),
        sa.UniqueConstraint("metric_id", "case_template_id", name="uq_case_metric_value_template"),
    )
    with op.batch_alter_table("case_metric_value", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_metric_value_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_metric_value_case_template_id"), ["case_template_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_metric_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_metric_value_case_template_id"))
        batch_op.drop_index(batch_op.f("ix_case_metric_value_case_id"))

    op.drop_table("case_metric_value")
    op.drop_table("case_metric")
