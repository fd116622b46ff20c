"""Per-test isolation fixtures: a session joined to an outer transaction that is
rolled back after each test.

RECIPE selects the fixture:
  naive             the seed's fixture: connection.begin() + session bound to it
  nested13          SQLAlchemy 1.3 docs: session.begin_nested() + restart listener
  nested14          SQLAlchemy 1.4 docs: connection.begin_nested() + restart listener
  create_savepoint  SQLAlchemy 2.0: Session(join_transaction_mode="create_savepoint")
PYSQLITE_FIX=on applies SQLAlchemy's documented pysqlite workaround (the driver's
own transaction handling off, BEGIN emitted by SQLAlchemy) so SAVEPOINT works.
SESSION_CLASS (flask flavor only) picks the session installed as db.session:
  flask-sqlalchemy  the seed's way: Flask-SQLAlchemy's own scoped session factory
                    (db.create_scoped_session, renamed db._make_scoped_session in 3.0)
  sqlalchemy        a plain sqlalchemy.orm.scoped_session (the Flask-SQLAlchemy 3 fix)
"""
import os
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import event, orm

import models

if os.environ.get("SQL_ECHO"):  # debugging aid: print every statement
    import logging

    logging.basicConfig(format="    SQL %(message)s")
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)

RECIPE = os.environ.get("RECIPE", "naive")
PYSQLITE_FIX = os.environ.get("PYSQLITE_FIX", "off") == "on"
SESSION_CLASS = os.environ.get(
    "SESSION_CLASS", "flask-sqlalchemy" if models.FLAVOR == "flask" else "sqlalchemy"
)
if SESSION_CLASS == "flask-sqlalchemy" and models.FLAVOR != "flask":
    raise RuntimeError("SESSION_CLASS=flask-sqlalchemy needs Flask-SQLAlchemy installed")


def pytest_report_header(config):
    return (
        f"sqlalchemy {sa.__version__}, flavor {models.FLAVOR}, session {SESSION_CLASS}, "
        f"recipe {RECIPE}, pysqlite fix {'on' if PYSQLITE_FIX else 'off'}"
    )


def apply_pysqlite_fix(engine):
    @event.listens_for(engine, "connect")
    def do_connect(dbapi_connection, connection_record):
        # stop pysqlite from emitting BEGIN itself (and from not emitting it)
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def do_begin(conn):
        # emit our own BEGIN (exec_driver_sql is 1.4+)
        getattr(conn, "exec_driver_sql", conn.execute)("BEGIN")


@contextmanager
def app_context():
    if models.FLAVOR == "flask":
        with models.app.app_context():
            yield
    else:
        yield


@pytest.fixture(scope="session")
def engine():
    if os.path.exists(models.DB_PATH):
        os.remove(models.DB_PATH)
    with app_context():
        if models.FLAVOR == "flask":
            eng = models.db.engine
        else:
            eng = sa.create_engine(models.DB_URL)
        if PYSQLITE_FIX:
            apply_pysqlite_fix(eng)
        models.metadata.create_all(eng)
        yield eng
        models.metadata.drop_all(eng)
        eng.dispose()


def make_session(connection, **options):
    """A session bound to the test's connection (scoped, as in the seed)."""
    if SESSION_CLASS == "flask-sqlalchemy":
        # the seed's db.create_scoped_session(options=...), renamed in 3.0; its
        # Session.get_bind() picks the engine by bind key and ignores bind=connection
        scoped = models.db._make_scoped_session(dict(bind=connection, binds={}, **options))
    else:
        scoped = orm.scoped_session(orm.sessionmaker(bind=connection, **options))
    if models.FLAVOR == "flask":
        models.db.session = scoped
    return scoped


@pytest.fixture
def session(engine):
    with app_context():
        connection = engine.connect()
        transaction = connection.begin()
        if RECIPE == "naive":
            session = make_session(connection)
        elif RECIPE == "nested13":
            session = make_session(connection)
            session.begin_nested()

            @event.listens_for(session(), "after_transaction_end")
            def restart_savepoint(sess, trans):
                if trans.nested and not trans._parent.nested:
                    sess.expire_all()
                    sess.begin_nested()

        elif RECIPE == "nested14":
            session = make_session(connection)
            state = {"nested": connection.begin_nested()}

            @event.listens_for(session(), "after_transaction_end")
            def end_savepoint(sess, trans):
                if not state["nested"].is_active:
                    state["nested"] = connection.begin_nested()

        elif RECIPE == "create_savepoint":
            session = make_session(connection, join_transaction_mode="create_savepoint")
        else:
            raise ValueError(f"unknown RECIPE {RECIPE!r}")

        yield session

        session.remove()
        transaction.rollback()
        connection.close()
