"""Learn a WordPiece vocabulary from training text when the model brings none.

Chinese characters are split one by one (BERT's normaliser puts spaces around CJK
characters), so the vocabulary is mostly single characters plus frequent Latin word pieces.
"""

from __future__ import annotations

from collections.abc import Iterable

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def learn_tokenizer(texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 1):
    """Return a `BertTokenizer` (fast) whose vocabulary was learned from `texts`."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizer

    wordpiece = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True,
                                       strip_accents=False, lowercase=True)
    wordpiece.train_from_iterator(
        (t for t in texts if t), vocab_size=vocab_size, min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS, show_progress=False,
    )
    return BertTokenizer(vocab=wordpiece.get_vocab(), do_lower_case=True,
                         tokenize_chinese_chars=True, strip_accents=False)
