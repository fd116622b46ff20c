# pytest-alembic's default `alembic_engine` fixture (in-memory SQLite) is used.
# With --test-alembic, pytest.ini binds the plugin's built-in tests to this file.
