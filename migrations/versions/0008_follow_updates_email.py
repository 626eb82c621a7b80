"""process follows and updates, users' email, outbox claim lease

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "process_follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"],
            name=op.f("fk_process_follows_process_id_processes"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_process_follows_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_follows")),
        sa.UniqueConstraint(
            "process_id", "user_id", name=op.f("uq_process_follows_process_id_user_id")
        ),
    )  # fmt: skip
    op.create_index("ix_process_follows_user_id", "process_follows", ["user_id"])
    op.create_table(
        "process_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_process_updates_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"],
            name=op.f("fk_process_updates_process_id_processes"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_updates")),
    )  # fmt: skip
    op.create_index("ix_process_updates_process_id", "process_updates", ["process_id"])


def downgrade():
    op.drop_table("process_updates")
    op.drop_table("process_follows")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
