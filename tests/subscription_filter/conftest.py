"""Fixtures of the subscription_filter tests: an archive root standing in for the EFS mount."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def archive_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary archive root; the handler's settings point at it, in Tokyo time, with labels."""
    root = tmp_path / "archive"
    root.mkdir()
    monkeypatch.setenv("ARCHIVE_ROOT", str(root))
    monkeypatch.setenv("ARCHIVE_TIME_ZONE", "Asia/Tokyo")
    monkeypatch.setenv("ARCHIVE_LABELS", '{"system": "billing", "env": "prod"}')
    monkeypatch.delenv("ARCHIVE_LINE_FORMAT", raising=False)
    monkeypatch.delenv("ARCHIVE_SEAL_GRACE_SECONDS", raising=False)
    return root
