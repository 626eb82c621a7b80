"""the saved relevance index for matching (in parts) and participant counts by home

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "relevance_indexes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("terms", sa.Integer(), nullable=False),
        sa.Column("max_priority_id", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("build_seconds", sa.Double(), nullable=False),
        sa.Column("participants_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("participants_seconds", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relevance_indexes")),
        sa.UniqueConstraint("key", name=op.f("uq_relevance_indexes_key")),
    )
    op.create_table(
        "relevance_index_parts",
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["index_id"],
            ["relevance_indexes.id"],
            name=op.f("fk_relevance_index_parts_index_id_relevance_indexes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("index_id", "position", name=op.f("pk_relevance_index_parts")),
    )
    op.create_table(
        "participant_counts",
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("home_code", sa.String(length=6), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["index_id"],
            ["relevance_indexes.id"],
            name=op.f("fk_participant_counts_index_id_relevance_indexes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["home_code"],
            ["localities.code"],
            name=op.f("fk_participant_counts_home_code_localities"),
        ),
        sa.PrimaryKeyConstraint("index_id", "home_code", name=op.f("pk_participant_counts")),
    )


def downgrade():
    op.drop_table("participant_counts")
    op.drop_table("relevance_index_parts")
    op.drop_table("relevance_indexes")
