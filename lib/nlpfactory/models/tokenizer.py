"""Learn a WordPiece vocabulary from training text when the model brings none.

Chinese characters are split one by one (BERT's normaliser puts spaces around CJK
characters), so the vocabulary is mostly single characters plus frequent Latin word pieces.

The merges are learned here rather than by the `tokenizers` trainer: its merge order breaks
ties between equally frequent pairs by hash-map order, so the same text gave a different
vocabulary (and ids) on each call. This learner breaks ties by the pieces themselves, so the
same text always gives the same ids — in one process and across processes.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CONTINUATION = "##"


def learn_tokenizer(texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 1):
    """Return a `BertTokenizer` (fast) whose vocabulary was learned from `texts`."""
    from transformers import BertTokenizer

    vocab = learn_vocabulary(word_counts(texts), vocab_size, min_frequency)
    return BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True,
                         tokenize_chinese_chars=True, strip_accents=False)


def word_counts(texts: Iterable[str]) -> Counter:
    """Words as BERT's own normaliser and pre-tokenizer cut them (lowercased, CJK apart)."""
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    normalizer = BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                lowercase=True)
    pre_tokenizer = BertPreTokenizer()
    counts: Counter = Counter()
    for text in texts:
        if text:
            counts.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    return counts


def learn_vocabulary(words: Counter, vocab_size: int, min_frequency: int = 1) -> list[str]:
    """Special tokens, every character (word-initial and `##` continuation), then merged
    pieces in merge order: byte-pair merges of the most frequent adjacent pair, ties broken by
    the pair itself."""
    pieces = {word: [word[0]] + [CONTINUATION + c for c in word[1:]] for word in words}
    alphabet = sorted({p for split in pieces.values() for p in split})
    vocab = SPECIAL_TOKENS + [p for p in alphabet if p not in SPECIAL_TOKENS]
    known = set(vocab)

    pair_counts: Counter = Counter()
    where: dict[tuple[str, str], set[str]] = defaultdict(set)
    for word, split in pieces.items():
        for pair in zip(split, split[1:]):
            pair_counts[pair] += words[word]
            where[pair].add(word)

    # A heap of (-count, pair); an entry whose count is out of date is skipped when popped.
    heap = [(-n, pair) for pair, n in pair_counts.items()]
    heapq.heapify(heap)
    while len(vocab) < vocab_size and heap:
        # Highest count first; among equals the smallest pair, so the order never depends on hashing.
        negative, best = heapq.heappop(heap)
        if pair_counts.get(best) != -negative:
            continue
        if -negative < min_frequency:
            break
        merged = best[0] + best[1].removeprefix(CONTINUATION)
        changed = set()
        for word in sorted(where.pop(best, ())):
            split = pieces[word]
            for pair in zip(split, split[1:]):
                pair_counts[pair] -= words[word]
                changed.add(pair)
            pieces[word] = split = _merge(split, best, merged)
            for pair in zip(split, split[1:]):
                pair_counts[pair] += words[word]
                where[pair].add(word)
                changed.add(pair)
        pair_counts.pop(best, None)
        for pair in changed:
            if pair_counts.get(pair, 0) > 0:
                heapq.heappush(heap, (-pair_counts[pair], pair))
            elif pair in pair_counts:
                del pair_counts[pair]
        if merged not in known:
            known.add(merged)
            vocab.append(merged)
    return vocab


def _merge(split: list[str], pair: tuple[str, str], merged: str) -> list[str]:
    out, i = [], 0
    while i < len(split):
        if i + 1 < len(split) and (split[i], split[i + 1]) == pair:
            out.append(merged)
            i += 2
        else:
            out.append(split[i])
            i += 1
    return out
