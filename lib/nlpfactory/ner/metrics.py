"""Entity-level scores: an entity counts as found only when its span and type both match
exactly (a partial overlap or a wrong type is one miss and one false alarm), as in CoNLL's
conlleval and seqeval's default mode; plus token accuracy and the most frequent confusions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from nlpfactory.ner.tags import repair_bio, to_spans


def _prf(found: int, predicted: int, gold: int) -> dict:
    p = found / predicted if predicted else 0.0
    r = found / gold if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "support": gold, "predicted": predicted}


def confusion(gold: tuple, predicted: list[tuple]) -> str:
    """How a gold entity that was not found exactly went wrong."""
    start, end, kind = gold
    same_span = [p for p in predicted if p[:2] == (start, end)]
    if same_span:
        return f"{kind} read as {same_span[0][2]}"
    overlapping = [p for p in predicted if p[0] < end and start < p[1]]
    if overlapping:
        kinds = {p[2] for p in overlapping}
        return f"{kind} with wrong boundaries" + ("" if kinds == {kind} else f" (as {'/'.join(sorted(kinds))})")
    return f"{kind} missed"


def entity_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                   types: Sequence[str] = (), top_confusions: int = 10) -> dict:
    """Gold and predicted BIO sequences, sentence by sentence. A predicted inside tag that
    continues nothing starts an entity (repair_bio), as conlleval reads it."""
    found, n_gold, n_pred = Counter(), Counter(), Counter()
    tokens = right = 0
    mistakes: Counter = Counter()
    for number, (g_tags, p_tags) in enumerate(zip(gold, predicted, strict=True)):
        if len(g_tags) != len(p_tags):
            raise ValueError(f"sentence {number + 1}: {len(p_tags)} predicted tags for {len(g_tags)} gold tags")
        g = set(to_spans(g_tags))
        p = set(to_spans(repair_bio(p_tags)))
        for span in g:
            n_gold[span[2]] += 1
        for span in p:
            n_pred[span[2]] += 1
            if span in g:
                found[span[2]] += 1
            elif not any(span[0] < q[1] and q[0] < span[1] for q in g):
                mistakes[f"false {span[2]}"] += 1
        for span in g - p:
            mistakes[confusion(span, sorted(p))] += 1
        tokens += len(g_tags)
        right += sum(a == b for a, b in zip(g_tags, p_tags))
    kinds = list(types) or sorted(set(n_gold) | set(n_pred))
    overall = _prf(sum(found.values()), sum(n_pred.values()), sum(n_gold.values()))
    return overall | {
        "token_accuracy": right / tokens if tokens else 0.0,
        "sentences": len(gold),
        "per_type": {k: _prf(found[k], n_pred[k], n_gold[k]) for k in kinds},
        "confusions": mistakes.most_common(top_confusions),
    }
