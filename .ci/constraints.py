"""Print constraints.txt: the exact version of every package `pip install -e ".[dev]"` pulls in,
read from the current environment (run it in a freshly set up .venv)."""

import importlib.metadata as metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HEADER = """\
# Exact versions of everything `pip install -e ".[dev]"` pulls in, as tested. CI and the
# Makefile install with `-c constraints.txt`, so a new upstream release can't change a build.
# Regenerate after changing pyproject.toml's dependencies: `make constraints`."""


def closure(name: str, extras: tuple[str, ...] = (), seen: dict | None = None) -> dict[str, str]:
    seen = {} if seen is None else seen
    key = canonicalize_name(name)
    if key in seen:
        return seen
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return seen  # an optional dependency for another platform
    seen[key] = dist.version.split("+")[0]  # 2.13.0+cpu: == 2.13.0 matches either build
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
            closure(req.name, tuple(req.extras), seen)
    return seen


if __name__ == "__main__":
    pins = closure("nlpfactory", ("dev",))
    pins.pop("nlpfactory")
    # Build tools belong to the venv, not to us: a pin here (the venv's old setuptools) once
    # made torch, which needs a newer one, impossible to install.
    for tool in ("pip", "setuptools", "wheel"):
        pins.pop(tool, None)
    print(HEADER)
    print("\n".join(f"{name}=={version}" for name, version in sorted(pins.items())))
