import os

from sqlalchemy.orm import declarative_base

Base = declarative_base()

from models import foo  # noqa: E402,F401

# The bug under test: models/baz.py defines a table, but nothing on the import
# path of `from models import Base` (what migrations/env.py does) imports it, so
# `Base.metadata` never learns about "baz". The env-axis variable picks whether
# the import is there.
if os.environ.get("BUGLAB_BAZ_IMPORT") == "present":
    from models import baz  # noqa: E402,F401
