import httpx
import pytest
from asgi_lifespan import LifespanManager

from main import app


@pytest.fixture
async def client():
    # httpx.ASGITransport exists from httpx 0.18 on; AsyncClient(app=...) is gone in 0.28
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
