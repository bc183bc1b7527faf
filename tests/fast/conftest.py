"""The fast tier: the real workflow on the real dev server (session `dev_server`), activities doubled."""

from __future__ import annotations

import pytest
from temporalio.client import Client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fast/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.fast)


@pytest.fixture(scope="session")
async def client(dev_server) -> Client:
    return await Client.connect(dev_server.address)
