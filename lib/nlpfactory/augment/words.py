"""Chinese words for augmentation and whole-word masking: jieba segmentation, and the map
from a word to the tokens it became.

Chinese BERT tokenizers split text into single characters, so masking one character of
"酒店" leaves "酒" as an easy clue; masking whole words (all tokens of a jieba word) makes the
model, or the augmenter, predict real words from context.
"""

from __future__ import annotations

import logging
import random
import unicodedata
from collections.abc import Sequence

from nlpfactory.errors import InputError


def segment(text: str) -> list[tuple[str, int, int]]:
    """jieba words of `text` as (word, start, end) character spans, covering the text."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # silence "Building prefix dict..." on first use
    return list(jieba.tokenize(text))


def words(text: str) -> list[str]:
    return [w for w, _, _ in segment(text)]


def is_content(word: str) -> bool:
    """A word worth changing: not only spaces or punctuation."""
    return any(not (ch.isspace() or unicodedata.category(ch).startswith("P")) for ch in word)


def word_token_groups(text: str, offsets: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Token positions of each content word of `text`, from the tokenizer's character offsets.

    A token belongs to the word its first character falls in; special tokens (empty offsets)
    belong to none. Words whose tokens were cut off by truncation are left out.
    """
    spans = [(s, e) for w, s, e in segment(text) if is_content(w)]
    groups: list[list[int]] = [[] for _ in spans]
    word = 0
    for position, (start, end) in enumerate(offsets):
        if end <= start:
            continue
        while word < len(spans) and spans[word][1] <= start:
            word += 1
        if word < len(spans) and spans[word][0] <= start:
            groups[word].append(position)
    return [g for g in groups if g]


def choose_words(groups: Sequence[Sequence[int]], ratio: float, rng: random.Random) -> list[int]:
    """Pick whole words at random until about `ratio` of the tokens are covered (at least one
    word when there is any). Returns indexes into `groups`."""
    total = sum(len(g) for g in groups)
    if not total:
        return []
    target = max(1, round(ratio * total))
    order = list(range(len(groups)))
    rng.shuffle(order)
    chosen, covered = [], 0
    for index in order:
        if covered >= target:
            break
        # Skip a word that would overshoot the target by more than it helps reach it.
        if chosen and covered + len(groups[index]) - target > target - covered:
            continue
        chosen.append(index)
        covered += len(groups[index])
    return sorted(chosen)


def offsets_of(tokenizer, texts: Sequence[str], max_length: int) -> dict:
    """Tokenize with character offsets (a fast tokenizer is needed to align words)."""
    if not getattr(tokenizer, "is_fast", False):
        raise InputError(
            f"whole-word masking needs a fast tokenizer, got {type(tokenizer).__name__}",
            fix="use a model whose folder has tokenizer.json (every nlpfactory preset and "
                "most hub models do)",
        )
    return tokenizer(list(texts), truncation=True, max_length=max_length,
                     return_offsets_mapping=True, padding=False)
