import pytest
import pytest_asyncio


@pytest_asyncio.fixture
async def value():
    yield 1


@pytest.mark.asyncio
async def test_async_fixture(value):
    assert value == 1
