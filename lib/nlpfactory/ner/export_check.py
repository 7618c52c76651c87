"""The export's int8 check for a tagger: int8 must keep the fp32 entity F1 on the Dataset's
dev (else test) split within the allowed drop, in points."""

from __future__ import annotations

import warnings
from pathlib import Path

from nlpfactory.data.dataset import has_split, load_split
from nlpfactory.ner.metrics import entity_metrics


def check_int8_entity_f1(export_dir: Path, card: dict, dataset_dir, max_drop: float) -> dict[str, float]:
    from nlpfactory.ner.predict import OnnxTaggerPredictor
    from nlpfactory.serving.export import ExportCheckError

    split = next((s for s in ("dev", "test") if has_split(dataset_dir, s)), None)
    if split is None:
        warnings.warn(f"{dataset_dir}: no dev or test split, so int8 entity F1 is not checked", stacklevel=2)
        return {}
    frame = load_split(dataset_dir, split)
    gold = [list(t) for t in frame["tags"]]
    f1 = {}
    for precision in ("fp32", "int8"):
        predictor = OnnxTaggerPredictor(export_dir, card, precision=precision)
        f1[precision] = entity_metrics(gold, predictor.predict_tags(frame["text"].tolist()))["f1"] * 100
    drop = f1["fp32"] - f1["int8"]
    if drop > max_drop:
        raise ExportCheckError(
            f"int8 entity F1 on the {split} split ({len(frame)} sentences) is {f1['int8']:.2f} against "
            f"{f1['fp32']:.2f} for fp32: a drop of {drop:.2f} points (allowed: {max_drop:g}).\n"
            "  fix: serve model.onnx (fp32) by exporting with --quantize false, or raise --max-int8-accuracy-drop")
    return {f"{split}_entity_f1_fp32": f1["fp32"], f"{split}_entity_f1_int8": f1["int8"], "int8_entity_f1_drop": drop}
