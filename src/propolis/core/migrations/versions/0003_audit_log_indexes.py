"""audit log indexes: one organisation's events by date, by user, by kind of object and by
action (the filters of /admin/audit), and every organisation's by date

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_audit_org_created": ["org_id", "created_at", "id"],
    "ix_audit_org_actor": ["org_id", "actor", "created_at", "id"],
    "ix_audit_org_type": ["org_id", "object_type", "created_at", "id"],
    "ix_audit_org_action": ["org_id", "action", "created_at", "id"],
    "ix_audit_created": ["created_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_event", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="audit_event")
