from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path):
    """write(name, content, encoding="utf-8") -> Path; bytes are written as they are."""

    def _write(name: str, content, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        return path

    return _write
