"""partial unique observable indexes: an observable enters only its own container's

The unique constraints on (case_id, fingerprint) and (alert_id, fingerprint) held an entry
for every observable, the other container's NULL included: each alert observable wrote a
(NULL, fingerprint) entry, at a random place of the case-side index, that nothing reads.
They become unique indexes of the rows whose container is set (the same rule: NULLs never
collide). On SQLite a table constraint goes only with a rebuild of the table.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# name -> indexed columns; the first one is the container, which must be set
UNIQUE = {
    "uq_observable_case_fingerprint": ["case_id", "fingerprint"],
    "uq_observable_alert_fingerprint": ["alert_id", "fingerprint"],
}


def upgrade() -> None:
    with op.batch_alter_table("observable") as batch:
        for name in UNIQUE:
            batch.drop_constraint(name, type_="unique")
    for name, columns in UNIQUE.items():
        condition = sa.text(f"{columns[0]} IS NOT NULL")
        op.create_index(
            name,
            "observable",
            columns,
            unique=True,
            sqlite_where=condition,
            postgresql_where=condition,
        )


def downgrade() -> None:
    for name in UNIQUE:
        op.drop_index(name, table_name="observable")
    with op.batch_alter_table("observable") as batch:
        for name, columns in UNIQUE.items():
            batch.create_unique_constraint(name, columns)
