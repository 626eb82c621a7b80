"""themes: stored topic tokens on priorities, theme builds, themes, assignments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:55:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows get NULL ("never segmented") and are segmented once by the next
    # `themes build`; '' stays a real result (a text of stop words only).
    with op.batch_alter_table("priorities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tokens", sa.Text(), nullable=True))

    op.create_table(
        "theme_builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("scope_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("n_themes", sa.Integer(), nullable=True),
        sa.Column("n_priorities", sa.Integer(), nullable=False),
        sa.Column("assigned_through", sa.Integer(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["scope_code"],
            ["localities.code"],
            name=op.f("fk_theme_builds_scope_code_localities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_builds")),
        sa.UniqueConstraint("key", name=op.f("uq_theme_builds_key")),
    )
    with op.batch_alter_table("theme_builds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_theme_builds_scope_status", ["scope_code", "status"], unique=False
        )

    op.create_table(
        "themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("scope_code", sa.String(length=6), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("supports", sa.Integer(), nullable=False),
        sa.Column("representative_priority_id", sa.Integer(), nullable=True),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["theme_builds.id"],
            name=op.f("fk_themes_build_id_theme_builds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["representative_priority_id"],
            ["priorities.id"],
            name=op.f("fk_themes_representative_priority_id_priorities"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_themes")),
        sa.UniqueConstraint("build_id", "number", name=op.f("uq_themes_build_id_number")),
    )
    with op.batch_alter_table("themes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_themes_build_id"), ["build_id"], unique=False)

    op.create_table(
        "priority_themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("priority_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["theme_builds.id"],
            name=op.f("fk_priority_themes_build_id_theme_builds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["priority_id"],
            ["priorities.id"],
            name=op.f("fk_priority_themes_priority_id_priorities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["themes.id"],
            name=op.f("fk_priority_themes_theme_id_themes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_priority_themes")),
        sa.UniqueConstraint(
            "priority_id", "build_id", name=op.f("uq_priority_themes_priority_id_build_id")
        ),
    )
    with op.batch_alter_table("priority_themes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_priority_themes_theme_priority", ["theme_id", "priority_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("priority_themes", schema=None) as batch_op:
        batch_op.drop_index("ix_priority_themes_theme_priority")
    op.drop_table("priority_themes")
    with op.batch_alter_table("themes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_themes_build_id"))
    op.drop_table("themes")
    with op.batch_alter_table("theme_builds", schema=None) as batch_op:
        batch_op.drop_index("ix_theme_builds_scope_status")
    op.drop_table("theme_builds")
    with op.batch_alter_table("priorities", schema=None) as batch_op:
        batch_op.drop_column("tokens")
