# The "explicit" form from pytest-alembic's docs: call the experimental checks
# yourself, naming the models package.
from pytest_alembic.tests import experimental


def test_all_models_register_on_metadata(alembic_runner):
    experimental.test_all_models_register_on_metadata(alembic_runner, "models")


def test_downgrade_leaves_no_trace(alembic_runner):
    experimental.test_downgrade_leaves_no_trace(alembic_runner)
