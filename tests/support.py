"""Helpers the tests share (imported as ``support``; conftest holds the fixtures)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from chorus.settings import Settings

TEST_MONGODB_URI = os.environ.get("CHORUS_TEST_MONGODB_URI")
TEST_REDIS_URL = os.environ.get("CHORUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: embedded everything in ``data_dir``, the scripted model."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "model": "scripted",
        "snapshot_interval_seconds": 0.2,
    }
    if TEST_MONGODB_URI:
        values["mongodb_uri"] = TEST_MONGODB_URI
        values["mongodb_database"] = f"chorus_test_{uuid.uuid4().hex[:12]}"
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
