import os

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "baz",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(50)),
    )
    op.create_index("ix_baz_name", "baz", ["name"])


def downgrade():
    op.drop_index("ix_baz_name", table_name="baz")
    # The bug under test: the downgrade forgets to drop the table its upgrade
    # created. The env-axis variable picks whether the drop is there.
    if os.environ.get("BUGLAB_DOWNGRADE") == "fixed":
        op.drop_table("baz")
