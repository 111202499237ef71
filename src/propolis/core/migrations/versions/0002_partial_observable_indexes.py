"""partial observable indexes: a row enters only its own container's index

An observable is in a case or in an alert: the case-side index held a NULL entry for every
alert observable (written with each alert ingested, never read), the alert-side one for
every case observable, and the attachment index for every observable that is not a file.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# name -> indexed columns; the first one is the column that must be set
INDEXES = {
    "ix_observable_case_created": ["case_id", "created_at"],
    "ix_observable_alert_created": ["alert_id", "created_at"],
    "ix_observable_attachment_id": ["attachment_id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        condition = sa.text(f"{columns[0]} IS NOT NULL")
        op.drop_index(name, table_name="observable")
        op.create_index(
            name,
            "observable",
            columns,
            sqlite_where=condition,
            postgresql_where=condition,
        )


def downgrade() -> None:
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name="observable")
        op.create_index(name, "observable", columns)
