"""merge proposals between duplicate priorities

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "merge_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_merge_proposals_proposed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["priorities.id"],
            name=op.f("fk_merge_proposals_source_id_priorities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["priorities.id"],
            name=op.f("fk_merge_proposals_target_id_priorities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_proposals")),
        sa.UniqueConstraint(
            "source_id", "target_id", name=op.f("uq_merge_proposals_source_id_target_id")
        ),
    )


def downgrade():
    op.drop_table("merge_proposals")
