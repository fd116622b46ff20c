import pytest


@pytest.mark.asyncio
async def test_home(client):
    response = await client.get("/")
    assert response.status_code == 200
    # proves that the lines after the await in main.home ran
    assert response.json() == {"value": 1, "doubled": 2}
