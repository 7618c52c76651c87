"""Where nlpfactory keeps its cache (datahub downloads, resumable training state)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`NLPFACTORY_CACHE`, else the user's cache folder (e.g. ~/.cache/nlpfactory)."""
    env = os.environ.get("NLPFACTORY_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nlpfactory"))
