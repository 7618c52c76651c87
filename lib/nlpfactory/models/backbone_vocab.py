"""The vocabulary of a backbone pretrained here, laid out like BERT-Chinese's.

BERT-Chinese ids: [PAD] 0, [unused1..99] 1-99, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103,
then the pieces. Its tokenizer splits every CJK character off on its own, so the pieces are
every character of the corpus (seen at least `min_count` times) plus frequent Latin/number
words and word pieces. Chinese words are not pieces: the tokenizer would never produce them
(a jieba pre-tokenizer cannot be saved with the folder, so `AutoTokenizer` could not rebuild
it); words enter the model through whole-word masking instead, as in Chinese-BERT-wwm.
The [unused] slots let a user add domain tokens later without resizing the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

SPECIAL_TOKENS = ["[PAD]", *[f"[unused{i}]" for i in range(1, 100)], "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x3400 <= code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or \
        0x20000 <= code <= 0x2FA1F


def learn_backbone_vocab(texts: Iterable[str], vocab_size: int = 12000, min_count: int = 2) -> list[str]:
    """Tokens in id order: the specials, the corpus's characters (most frequent first), then
    word pieces learned from the non-CJK text until `vocab_size`. The same text always gives
    the same list."""
    texts = [t for t in texts if t]
    chars = Counter(ch for t in texts for ch in t.lower() if not ch.isspace())
    cjk = [ch for ch, n in sorted(chars.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count and _is_cjk(ch)]
    room = vocab_size - len(SPECIAL_TOKENS) - len(cjk)
    if room < 0:
        raise ValueError(f"vocab_size {vocab_size} is smaller than the {len(SPECIAL_TOKENS)} special "
                         f"tokens and {len(cjk)} characters; raise it or raise min_count")
    # The CJK characters are already in; the rest (punctuation, digits, Latin words and their
    # ## pieces) is learned from the text with the CJK characters taken out, by the learner
    # that breaks ties by the pieces themselves: the `tokenizers` trainer broke them by
    # hash-map order, so zh-small and zh-tiny, built on the same corpus, disagreed on the ids
    # of 2,014 of their 8,000 pieces.
    from nlpfactory.models.tokenizer import learn_vocabulary, word_counts

    words = word_counts("".join(" " if _is_cjk(c) else c for c in t) for t in texts)
    taken = set(SPECIAL_TOKENS) | set(cjk)
    learned = learn_vocabulary(words, vocab_size, min_count)  # more than room: some are taken
    rest = [tok for tok in learned if tok not in taken]
    return SPECIAL_TOKENS + cjk + rest[:room]


def backbone_tokenizer(vocab: list[str]):
    """A BERT tokenizer over `vocab` that `AutoTokenizer.from_pretrained` reloads as is."""
    from transformers import BertTokenizer

    return BertTokenizer(vocab={tok: i for i, tok in enumerate(vocab)}, do_lower_case=True,
                         tokenize_chinese_chars=True, strip_accents=False)
