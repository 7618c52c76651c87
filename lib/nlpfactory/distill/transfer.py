"""Transfer texts for vanilla KD: text without labels on which the student learns the
teacher's soft labels alone (tags for a tagger, classes for a classifier), from a datahub
corpus (its training texts, of the distilled domain when the corpus has a domain column;
their labels are never read) or a text file (one text a line).

No leakage: the Dataset's own texts are left out, and so is every text that is, or overlaps,
one of its dev or test texts (the pretraining corpus's near-duplicate rule), so nothing the
student is picked or scored on is learned from through the teacher."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from nlpfactory.data.dataset import SPLITS, has_split, load_split
from nlpfactory.data.pretrain_corpus import SHINGLE, LeakFilter
from nlpfactory.data.readers import decoded_lines
from nlpfactory.errors import InputError


def transfer_sentences(source: str, dataset_dir: str | Path, rows: int = 0, seed: int = 42,
                       domain: str = "") -> list[str]:
    """The distinct texts of `source` (of `domain` when it names one and the corpus has a
    domain column) that `dataset_dir` does not hold and that do not overlap its dev or test
    texts; `rows` of them drawn with `seed` (0: all)."""
    splits = {s: load_split(dataset_dir, s)["text"].tolist() for s in SPLITS if has_split(dataset_dir, s)}
    held = {t for texts in splits.values() for t in texts}
    leak = LeakFilter(splits.get("dev", []) + splits.get("test", []), SHINGLE)
    pool = sorted(t for t in {t.strip() for t in _read(source, domain)} - held - {""} if not leak.why(t))
    if not pool:
        raise InputError("no transfer text is left once the Dataset's own texts and near-duplicates of its dev "
                         "and test texts are taken out", file=source,
                         fix="give texts the Dataset does not hold, or no transfer_source")
    return random.Random(seed).sample(pool, rows) if 0 < rows < len(pool) else pool


def transfer_key(texts: list[str]) -> str:
    """What a resumed run checks, so it sees the same transfer texts (a text file may have changed)."""
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16] if texts else ""


def _read(source: str, domain: str) -> list[str]:
    from nlpfactory.data import datahub

    path = Path(source).expanduser()
    if path.is_file():  # a bad byte is an error naming its line and the encoding the file looks like
        return [line for _, line in decoded_lines(path, "utf-8")]
    frame = datahub.load(datahub.get(source).name)[0]  # an unknown name: get says what there is
    if "split" in frame:
        frame = frame[frame["split"] == "train"]
    if domain and "domain" in frame:
        if domain not in set(frame["domain"]):
            raise InputError(f"corpus {source} has no texts of domain {domain!r} "
                             f"(domains: {', '.join(sorted(map(str, frame['domain'].unique())))})",
                             file=source, column="domain", fix="distill a domain the corpus has, or use a text file")
        frame = frame[frame["domain"] == domain]
    return frame["text"].tolist()
