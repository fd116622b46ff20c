from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine


@asynccontextmanager
async def lifespan(app):
    engine = create_async_engine("sqlite+aiosqlite://")
    app.state.session = AsyncSession(engine)
    yield
    await app.state.session.close()
    await engine.dispose()


app = FastAPI()
app.router.lifespan_context = lifespan  # works on old and new FastAPI alike


@app.get("/")
async def home():
    result = await app.state.session.execute(text("SELECT 1"))
    value = result.scalar()  # every line from here on runs: the test checks
    doubled = value * 2  # the JSON they build, yet coverage reports them
    return {"value": value, "doubled": doubled}  # as missed
