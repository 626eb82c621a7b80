"""stage summaries and attachments, the reflection wall, vote creation times, email digests

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stages") as batch:
        batch.add_column(sa.Column("summary", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("summary_published_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "stage_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["stages.id"],
            name=op.f("fk_stage_attachments_stage_id_stages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_stage_attachments_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_attachments")),
    )
    op.create_index("ix_stage_attachments_stage_id", "stage_attachments", ["stage_id"])
    with op.batch_alter_table("statement_votes") as batch:
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE statement_votes SET created_at = updated_at")
    with op.batch_alter_table("statement_votes") as batch:
        batch.alter_column("created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_table(
        "wall_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["processes.id"],
            name=op.f("fk_wall_posts_process_id_processes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["stages.id"],
            name=op.f("fk_wall_posts_stage_id_stages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_wall_posts_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wall_posts")),
    )
    op.create_index("ix_wall_posts_process_id_id", "wall_posts", ["process_id", "id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_digest", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_digest")
    op.drop_table("wall_posts")
    with op.batch_alter_table("statement_votes") as batch:
        batch.drop_column("created_at")
    op.drop_table("stage_attachments")
    with op.batch_alter_table("stages") as batch:
        batch.drop_column("summary_published_at")
        batch.drop_column("summary")
