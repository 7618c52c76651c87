"""Write an output folder under a temporary name and rename it into place at the end, so a
failed stage never leaves half an artifact that the next stage would read.

An output folder never costs the user a file nlpfactory did not write: a finished output
holds a marker listing the files we wrote, and an existing folder is replaced only when it
is empty or every file in it is on its marker (or the user said `--overwrite`). A folder that
holds one of the stage's inputs is never replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from nlpfactory.errors import InputError
from nlpfactory.train.distributed import is_main_process

MARKER = ".nlpfactory-output"


def umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _written_by_us(folder: Path) -> bool:
    try:
        listed = set(json.loads((folder / MARKER).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    have = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink()}
    return have - {MARKER} <= listed


def check_output_dir(target: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (),
                     overwrite: bool = False) -> None:
    """Refuse an output folder whose replacement would delete something of the user's."""
    target = Path(target)
    resolved = target.resolve()
    for item in inputs:
        if not item:
            continue
        source = Path(item).resolve()
        if source == resolved or resolved in source.parents:
            raise InputError(f"the output folder holds the input {item}; writing the output would "
                             "delete it", file=str(target),
                             fix="choose a new folder for --output, outside the input's folder")
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise InputError("the output is the current folder (or holds it); writing the output "
                         "would replace it whole", file=str(target),
                         fix="name a new folder for --output, e.g. --output out")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InputError("the output exists and is not a folder", file=str(target),
                         fix="choose a folder name for --output (it is created)")
    if target.is_dir() and any(target.iterdir()) and not overwrite and not _written_by_us(target):
        raise InputError("the output folder holds files nlpfactory did not write, and writing the "
                         "output would replace the whole folder", file=str(target),
                         fix="choose a new or empty folder, or pass --overwrite to replace it")


def make_parent(target: Path) -> None:
    """Create the folder that will hold `target`, or say why it cannot be."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output's folder ({err.strerror})", file=str(target),
                         fix="choose an output path in a folder you can write to") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write in {target.parent}", file=str(target),
                         fix="choose an output path in a folder you can write to")


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
               overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `target`; on success it replaces `target`.

    KFP creates the artifact path (sometimes as an empty folder) before the task runs, so an
    existing empty target is fine; one holding a previous nlpfactory output is replaced; any
    other is refused unless `overwrite` (see check_output_dir).
    """
    target = Path(target)
    if not is_main_process():
        # Under torchrun every rank runs the stage; rank 0's copy is the artifact.
        with tempfile.TemporaryDirectory(prefix=f"{target.name}.rank-") as scratch:
            yield Path(scratch)
        return
    check_output_dir(target, inputs, overwrite)
    make_parent(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as err:
        raise InputError(f"cannot write in {target.parent} ({err.strerror})", file=str(target),
                         fix="choose an output path in a folder you can write to") from None
    os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes it private; an output is an ordinary folder
    try:
        yield tmp
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        (tmp / MARKER).write_text(json.dumps({"files": files}, indent=1), encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
