"""Release 2 (contract, run by `bluegreen retire` once release 1 is stopped): copy the rows
release 1 wrote during the rollback window, then drop `name`. Release 1 cannot run after this."""

from alembic import op

revision = "c2"
down_revision = None
branch_labels = ("contract",)
depends_on = "e2"


def upgrade():
    op.execute("update people set full_name = name where full_name is null")
    with op.batch_alter_table("people") as table:
        table.drop_column("name")


def downgrade():
    raise NotImplementedError("a contraction is not undone: roll forward with a new expand")
