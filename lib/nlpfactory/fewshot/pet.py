"""Cloze scoring for PET and P-Tuning: a label's score is how likely its word is in the mask slot.

Label words of different lengths (好 / 不好, 体育 / 财经新闻): of the two sound choices in
docs/methods.md we take the simpler one. The mask slot holds as many [MASK] tokens as the longest
label word has; a word of n tokens is read at the first n masks, and its score is the mean
(default; length-fair) or the sum of its tokens' log-probabilities there. One forward pass
scores every label, in training and prediction alike. q(l|x) = softmax over the labels' scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from nlpfactory.errors import InputError

STRATEGIES = ("mean", "sum")


def label_words(labels: Sequence[str], verbalizer: dict) -> list[str]:
    """The word of each label, in label order; an empty verbalizer uses the label names."""
    if not verbalizer:
        return [str(label) for label in labels]
    missing = [label for label in labels if label not in verbalizer]
    if missing:
        raise InputError(f"the verbalizer has no word for label(s) {missing}", column="verbalizer",
                         fix="give every label a word, e.g. " + str({label: "…" for label in labels}))
    return [verbalizer[label] for label in labels]


def word_token_ids(tokenizer, words: Sequence[str]) -> list[list[int]]:
    """Token ids of each label word; a word the vocabulary cannot spell is an error."""
    out = []
    for word in words:
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        if not ids or tokenizer.unk_token_id in ids:
            raise InputError(f"label word {word!r} is not in the model's vocabulary (it tokenizes to {ids})",
                             column="verbalizer", fix="choose label words the model knows")
        out.append(ids)
    return out


def label_scores(log_probs: torch.Tensor, words: Sequence[Sequence[int]], strategy: str = "mean") -> torch.Tensor:
    """`log_probs` (batch, masks, vocab) -> scores (batch, labels)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"mask strategy {strategy!r}: choose one of {STRATEGIES}")
    scores = []
    for ids in words:
        slots = torch.arange(len(ids), device=log_probs.device)
        tokens = log_probs[:, slots, torch.tensor(ids, device=log_probs.device)]  # (batch, n)
        scores.append(tokens.mean(1) if strategy == "mean" else tokens.sum(1))
    return torch.stack(scores, 1)


def cloze_scores(model, batch: dict, words: Sequence[Sequence[int]], strategy: str = "mean") -> torch.Tensor:
    """Label scores of a prompted batch (PromptedMLM `model`)."""
    logits = model.vocab_logits(model.at_masks(batch)).float()
    return label_scores(F.log_softmax(logits, -1), words, strategy)


def cloze_loss(model, batch: dict, words, strategy: str = "mean") -> torch.Tensor:
    """Cross-entropy of q(l|x) against the gold label."""
    return F.cross_entropy(cloze_scores(model, batch, words, strategy), batch["labels"])
