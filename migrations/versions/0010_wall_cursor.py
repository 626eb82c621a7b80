"""the reflection wall's change counter (the screens' poll cursor); stage summary revisions

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wall_posts") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=True))
    # Ids are unique, so they are a valid first numbering of any posts already there.
    op.execute("UPDATE wall_posts SET revision = id")
    with op.batch_alter_table("wall_posts") as batch:
        batch.alter_column("revision", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(
            "uq_wall_posts_process_id_revision", ["process_id", "revision"]
        )
    with op.batch_alter_table("stages") as batch:
        batch.add_column(sa.Column("summary_revised_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("stages") as batch:
        batch.drop_column("summary_revised_at")
    with op.batch_alter_table("wall_posts") as batch:
        batch.drop_constraint("uq_wall_posts_process_id_revision", type_="unique")
        batch.drop_column("revision")
