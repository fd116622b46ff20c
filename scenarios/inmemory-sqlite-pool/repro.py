"""Create a table through one connection, then read it from another session.

Selected by environment variables (the lab's env axes set them):
  DB_DRIVER  sync | async          sqlite:// (pysqlite) or sqlite+aiosqlite://
  DB_URL     memory | shared       plain in-memory URL, or a shared-cache URI
                                   (file:x?mode=memory&cache=shared&uri=true)
  DB_POOL    default | static | null | queue
  DB_ACCESS  sequential | overlapping | thread
             sequential:  a new session after the creating connection went back
             overlapping: session B queries while session A still holds a connection
             thread:      a new session in another thread (async: its own event loop)
Exit 0 and print "rows seen: 1" when every session saw the table; a lost
in-memory database shows up as "(sqlite3.OperationalError) no such table: items".
"""
import asyncio
import os
import sys
import threading

import sqlalchemy
from sqlalchemy import Column, Integer, MetaData, Table, insert, pool, text
from sqlalchemy.orm import Session

DRIVER = os.environ.get("DB_DRIVER", "sync")
URL_FORM = os.environ.get("DB_URL", "memory")
POOL = os.environ.get("DB_POOL", "default")
ACCESS = os.environ.get("DB_ACCESS", "sequential")

metadata = MetaData()
items = Table("items", metadata, Column("id", Integer, primary_key=True))
COUNT = text("SELECT count(*) FROM items")


def make_url():
    scheme = "sqlite+aiosqlite" if DRIVER == "async" else "sqlite"
    if URL_FORM == "shared":
        return scheme + ":///file:buglab?mode=memory&cache=shared&uri=true"
    return scheme + "://"


def engine_kwargs():
    kw = {}
    pools = {
        "static": pool.StaticPool,
        "null": pool.NullPool,
        "queue": pool.AsyncAdaptedQueuePool if DRIVER == "async" else pool.QueuePool,
    }
    if POOL in pools:
        kw["poolclass"] = pools[POOL]
    if DRIVER == "sync":
        # StaticPool/QueuePool hand one pysqlite connection to other threads
        kw["connect_args"] = {"check_same_thread": False}
    return kw


def describe(engine):
    print(
        f"sqlalchemy {sqlalchemy.__version__}; {DRIVER} {engine.url}; "
        f"pool {type(engine.pool).__name__}; access {ACCESS}",
        flush=True,
    )


def in_thread(fn):
    """Run fn() in another thread and re-raise its exception here."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - carried to the main thread
            box["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def run_sync():
    from sqlalchemy import create_engine

    engine = create_engine(make_url(), **engine_kwargs())
    describe(engine)
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(insert(items).values(id=1))

    def count():
        with Session(engine) as s:
            return s.execute(COUNT).scalar()

    try:
        if ACCESS == "sequential":
            return count()
        if ACCESS == "overlapping":
            with Session(engine) as a:
                a.execute(COUNT).scalar()  # a now holds a checked-out connection
                return count()
        return in_thread(count)
    finally:
        engine.dispose()


async def run_async():
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine(make_url(), **engine_kwargs())
    describe(engine)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(items).values(id=1))

    async def count():
        async with AsyncSession(engine) as s:
            return (await s.execute(COUNT)).scalar()

    # dispose() even on failure: SQLAlchemy < 2.0.46 leaves pooled aiosqlite >= 0.22
    # connections open, and their non-daemon threads then hang the interpreter at
    # exit (sqlalchemy/sqlalchemy#13039), which is another bug than this one.
    try:
        if ACCESS == "sequential":
            return await count()
        if ACCESS == "overlapping":
            async with AsyncSession(engine) as a:
                (await a.execute(COUNT)).scalar()  # a now holds a checked-out connection
                return await count()
        return in_thread(lambda: asyncio.run(count()))
    finally:
        await engine.dispose()


seen = asyncio.run(run_async()) if DRIVER == "async" else run_sync()
print(f"rows seen: {seen}")
sys.exit(0 if seen == 1 else 1)
