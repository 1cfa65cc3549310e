"""Release 1 (expand): the people table, with `name`."""

import sqlalchemy as sa
from alembic import op

revision = "e1"
down_revision = None
branch_labels = ("expand",)
depends_on = None


def upgrade():
    op.create_table("people", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.Text, nullable=False))


def downgrade():
    op.drop_table("people")
