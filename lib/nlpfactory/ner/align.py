"""From characters to a model's tokens and back.

A sentence is cut into words a tokenizer may merge characters within: a run of ASCII letters
and digits ("1998", "iPhone") is one word, every other character a word of its own. Each
word is tokenized alone, so a token never spans two words; a word's tag goes on its first
sub-token and its other sub-tokens are ignored in the loss (-100). In prediction the first
sub-token's tag goes to the word's first character and the rest of the word continues it
(I- of the same type, or O). An entity boundary inside such a run (rare in Chinese text)
is therefore lost: that is the approximation.

A sentence longer than `max_length` tokens is cut into windows of whole words that overlap
by `stride` words; in prediction each word takes the window where it sits farthest from an
edge (ties go to the earlier window), so the stitched result covers every word exactly once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np

from nlpfactory.ner.tags import OUTSIDE

IGNORE = -100
_WORD = re.compile(r"[A-Za-z0-9]+|.", re.S)


def char_words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word, in order, covering the text."""
    return [m.span() for m in _WORD.finditer(text)]


@dataclasses.dataclass
class Window:
    sentence: int
    first_word: int
    end_word: int
    positions: list[int]  # per word in the window: its first sub-token's index, -1 for none


class WordTokenizer:
    """Tokenizes each distinct word once (any transformers tokenizer: slow, fast, WordPiece or
    not; or one with `word_ids`, like inference.ExportTokenizer)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.cache: dict[str, list[int]] = {}

    def __call__(self, word: str) -> list[int]:
        if word not in self.cache:
            if hasattr(self.tokenizer, "word_ids"):
                self.cache[word] = self.tokenizer.word_ids(word)
            else:
                self.cache[word] = self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(word))
        return self.cache[word]


def windows_of(token_counts: Sequence[int], budget: int, stride: int) -> list[tuple[int, int]]:
    """[start, end) word ranges whose tokens fit the budget, overlapping by `stride` words."""
    n = len(token_counts)
    out, start = [], 0
    while True:
        end, used = start, 0
        while end < n and (used + token_counts[end] <= budget or end == start):
            used += token_counts[end]
            end += 1
        out.append((start, end))
        if end >= n:
            return out
        start = max(start + 1, end - stride)


def encode(tokenizer, texts: Sequence[str], max_length: int, stride: int = 16,
           tag_ids: Sequence[Sequence[int]] | None = None) -> tuple[list[dict], list[Window]]:
    """Model rows (input_ids, token_type_ids, and `tag_ids` when tags are given) and the window
    each row is, for stitching predictions back."""
    words_of = WordTokenizer(tokenizer)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    budget = max_length - 2
    rows, windows = [], []
    for s, text in enumerate(texts):
        spans = char_words(text)
        pieces = [words_of(text[a:b])[:budget] for a, b in spans]
        for first, end in windows_of([len(p) for p in pieces], budget, min(stride, budget // 2)):
            ids, positions, labels = [cls], [], [IGNORE]
            for w in range(first, end):
                positions.append(len(ids) if pieces[w] else -1)
                if tag_ids is not None and pieces[w]:
                    labels += [tag_ids[s][spans[w][0]]] + [IGNORE] * (len(pieces[w]) - 1)
                ids += pieces[w]
            ids.append(sep)
            row = {"input_ids": ids, "token_type_ids": [0] * len(ids)}
            if tag_ids is not None:
                row["tag_ids"] = labels + [IGNORE]
            rows.append(row)
            windows.append(Window(s, first, end, positions))
    return rows, windows


def stitch(texts: Sequence[str], windows: Sequence[Window], row_scores: Sequence[np.ndarray],
           num_tags: int) -> list[np.ndarray]:
    """Per sentence, a (characters, tags) array of scores: each word's scores from its best
    window, copied to all its characters; a word with no token scores 0 everywhere."""
    words = [char_words(t) for t in texts]
    best: list[list[tuple[int, np.ndarray | None]]] = [[(-1, None)] * len(w) for w in words]
    for window, scores in zip(windows, row_scores, strict=True):
        for k, position in enumerate(window.positions):
            w = window.first_word + k
            margin = min(k, window.end_word - window.first_word - 1 - k)
            if margin > best[window.sentence][w][0]:
                best[window.sentence][w] = (margin, scores[position] if position >= 0 else None)
    out = []
    for text, spans, chosen in zip(texts, words, best, strict=True):
        char_scores = np.zeros((len(text), num_tags), dtype=np.float32)
        for (a, b), (_, scores) in zip(spans, chosen, strict=True):
            if scores is not None:
                char_scores[a:b] = scores
        out.append(char_scores)
    return out


def word_tags(text: str, char_tag_ids: np.ndarray, tag_names: Sequence[str]) -> list[str]:
    """Character tags from per-character tag ids: a word's first character keeps its tag and
    the rest continue it; a character without a token (a space) is O."""
    tags = []
    for a, b in char_words(text):
        first = tag_names[int(char_tag_ids[a])] if char_tag_ids[a] >= 0 else OUTSIDE
        tags.append(first)
        tags += [OUTSIDE if first == OUTSIDE else "I-" + first[2:]] * (b - a - 1)
    return tags
