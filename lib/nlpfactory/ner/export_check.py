"""The export's int8 check for a tagger: int8 must keep the fp32 entity F1 on the Dataset's
dev (else test) split (a per-domain student: its domain's sentences) within the allowed
drop, in points."""

from __future__ import annotations

from pathlib import Path

from nlpfactory.ner.metrics import entity_metrics


def check_int8_entity_f1(export_dir: Path, card: dict, dataset_dir, max_drop: float) -> dict[str, float]:
    from nlpfactory.ner.predict import OnnxTaggerPredictor
    from nlpfactory.serving.export import check_int8_keeps, student_domain

    def entity_f1(frame, precision: str) -> float:
        predicted = OnnxTaggerPredictor(export_dir, card, precision=precision).predict_tags(frame["text"].tolist())
        return entity_metrics([list(t) for t in frame["tags"]], predicted)["f1"] * 100

    return check_int8_keeps("entity_f1", entity_f1, dataset_dir, max_drop, rows="sentences",
                            domain=student_domain(card))
