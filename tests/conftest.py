"""Shared fixtures: settings isolated from the developer's environment, and a runtime.

With ``CHORUS_TEST_MONGODB_URI`` set, documents and checkpoints use that real MongoDB (a fresh
database per test) instead of the embedded engine; everything else is unchanged.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support import make_settings, opened_runtime

from chorus.runtime import Runtime
from chorus.settings import Settings

# Variables that would point tests at real services or paid models if the developer has them.
_LEAKY = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "LANGSMITH_API_KEY",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING_V2",
    "LANGCHAIN_API_KEY",
)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CHORUS_") and not name.startswith("CHORUS_TEST_"):
            monkeypatch.delenv(name)
    for name in _LEAKY:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with opened_runtime(settings) as rt:
        yield rt
