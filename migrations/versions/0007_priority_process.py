"""priorities made through a process

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("priorities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_priorities_process_id", ["process_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_priorities_process_id_processes"), "processes", ["process_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("priorities", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_priorities_process_id_processes"), type_="foreignkey"
        )
        batch_op.drop_index("ix_priorities_process_id")
        batch_op.drop_column("process_id")
