import pytest


@pytest.fixture
def anyio_backend() -> str:
    """All async tests run on asyncio (asyncpg and our SMPP stack are asyncio-only)."""
    return "asyncio"
