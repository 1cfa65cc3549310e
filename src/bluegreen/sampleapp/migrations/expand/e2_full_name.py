"""Release 2 (expand): add `full_name` beside `name`, nullable so release 1's inserts still work,
and copy what release 1 wrote. Release 2 reads full_name, falling back to name."""

import sqlalchemy as sa
from alembic import op

revision = "e2"
down_revision = "e1"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("people", sa.Column("full_name", sa.Text, nullable=True))
    op.execute("update people set full_name = name where full_name is null")


def downgrade():
    with op.batch_alter_table("people") as table:
        table.drop_column("full_name")
