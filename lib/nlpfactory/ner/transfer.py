"""Transfer sentences for token KD: text without tags that the student learns the teacher's
tags on, from a datahub corpus (its training sentences; their tags are never read) or a text
file (one sentence a line). Sentences of the Dataset being distilled on are left out, so no
dev or test sentence is learned from through the teacher."""

from __future__ import annotations

import random
from pathlib import Path

from nlpfactory.data.dataset import has_split, load_split
from nlpfactory.data.readers import decoded_lines
from nlpfactory.errors import InputError

SPLITS = ("train", "dev", "test")


def transfer_sentences(source: str, dataset_dir: str | Path, rows: int = 0, seed: int = 42) -> list[str]:
    """The distinct sentences of `source` that `dataset_dir` does not hold; `rows` of them
    drawn with `seed` (0: all)."""
    held = {t for s in SPLITS if has_split(dataset_dir, s) for t in load_split(dataset_dir, s)["text"]}
    pool = sorted({t.strip() for t in _read(source)} - held - {""})
    if not pool:
        raise InputError("no transfer sentence is left once the Dataset's own are taken out", file=source,
                         fix="give sentences the Dataset does not hold, or no transfer_source")
    return random.Random(seed).sample(pool, rows) if 0 < rows < len(pool) else pool


def _read(source: str) -> list[str]:
    from nlpfactory.data import datahub

    path = Path(source).expanduser()
    if path.is_file():  # a bad byte is an error naming its line and the encoding the file looks like
        return [line for _, line in decoded_lines(path, "utf-8")]
    frame = datahub.load(datahub.get(source).name)[0]  # an unknown name: get says what there is
    return frame.loc[frame["split"] == "train", "text"].tolist() if "split" in frame else frame["text"].tolist()
