"""Export a sequence-classification Model folder for serving.

The export folder holds `model.onnx` (dynamic batch and sequence axes), `model.int8.onnx`
(dynamic int8 quantization), the fast tokenizer, `nlpfactory.json` (kind `onnx_classifier`,
plus an `export` section with the checks' numbers) and a KServe manifest. Two checks guard
it: ONNX Runtime must reproduce the PyTorch logits, and int8 must keep the dev accuracy of
fp32 within a set number of points. Optionally the export is registered in MLflow.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlpfactory.atomic import atomic_dir
from nlpfactory.config import check_options, option, to_dict
from nlpfactory.errors import InputError, NlpFactoryError
from nlpfactory.models.card import read_card, write_card
from nlpfactory.models.labels import name_labels
from nlpfactory.models.load import with_model_max_length
from nlpfactory.serving.kserve import (
    HF_SUBFOLDER,
    RUNTIMES,
    service_name,
    write_manifest,
    write_triton_repository,
)
from nlpfactory.serving.onnx_predictor import FP32_FILE, INT8_FILE
from nlpfactory.tracking import NO_TRACKING, Tracker

log = logging.getLogger(__name__)

EXPORTABLE_KINDS = ("classifier", "metakd_teacher", "tagger")
EXPORT_KIND = "onnx_classifier"
EXPORT_KINDS = {"tagger": "onnx_tagger"}  # other kinds export as EXPORT_KIND
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class ExportCheckError(NlpFactoryError):
    """The exported model does not behave like the model it came from."""


@dataclass
class ExportConfig:
    quantize: bool = option(True, "Also write model.int8.onnx (dynamic int8 quantization): about 4x smaller and faster on CPU.")
    opset: int = option(17, "ONNX opset version to export with.")
    verify: bool = option(True, "Check that ONNX Runtime reproduces the PyTorch logits, and fail the export if it does not.")
    tolerance: float = option(1e-4, "Largest allowed difference between ONNX Runtime and PyTorch logits (fp32).")
    max_int8_accuracy_drop: float = option(1.0, "Largest allowed drop of accuracy, in points, from fp32 to int8 on the Dataset's dev split (checked when a Dataset is given).")
    register_name: str = option("", "Register the export in the MLflow model registry under this name; empty: do not register.")
    alias: str = option("candidate", "Alias given to the registered version (for example candidate or champion).")
    kserve_runtime: str = option("nlpfactory", "Runtime in the KServe manifest: nlpfactory (our image serving the int8 ONNX model, text in, label names out), huggingface (KServe's Hugging Face server on the PyTorch weights) or triton (Triton on the ONNX model, token ids in).", choices=RUNTIMES)
    storage_uri: str = option("", "Where the export folder is or will be uploaded (s3://, gs://, pvc://); the KServe manifest points there. Empty: the artifact's own URI on a cluster, else a placeholder to edit.")

    def __post_init__(self):
        check_options(self)
        if self.tolerance <= 0:
            raise InputError("tolerance must be positive", column="tolerance", fix="use e.g. 1e-4")
        if self.register_name and not self.alias:
            raise InputError("registering needs an alias", column="alias", fix="set --alias candidate")


@dataclass
class ExportResult:
    path: Path
    metrics: dict[str, float]
    registered_uri: str = ""  # models:/NAME@ALIAS when registered


def export(cfg: ExportConfig, model_dir: str | Path, output_dir: str | Path, dataset_dir: str | Path | None = None,
           *, tracker: Tracker = NO_TRACKING, overwrite: bool = False) -> ExportResult:
    """Write the export folder for the Model folder `model_dir`; check it; register it if asked.
    `overwrite` lets it replace a folder holding files nlpfactory did not write."""
    card = read_card(model_dir)
    _check_exportable(card, model_dir)
    with tracker.stage_run("export", to_dict(cfg)) as run, \
            atomic_dir(output_dir, inputs=(model_dir, dataset_dir), overwrite=overwrite) as tmp:
        model, tokenizer = _load(model_dir, card)
        names = [n for n in MODEL_INPUTS if n in tokenizer.model_input_names or n == "input_ids"]
        _export_onnx(model, names, tmp / FP32_FILE, cfg.opset, int(card.get("max_length", 128)),
                     per_token=card.get("kind") == "tagger")
        with_model_max_length(tokenizer, model).save_pretrained(tmp)
        if not (tmp / "tokenizer.json").is_file():
            raise InputError("the model's tokenizer has no fast (tokenizers) version, which serving needs",
                             file=str(model_dir), fix="use a model whose tokenizer ships a tokenizer.json")
        metrics: dict[str, float] = {"onnx_mb": _mb(tmp / FP32_FILE)}
        if cfg.verify:
            metrics.update(_check_parity(model, tmp / FP32_FILE, names, cfg.tolerance))
        if cfg.quantize:
            _quantize(tmp / FP32_FILE, tmp / INT8_FILE)
            metrics["int8_onnx_mb"] = _mb(tmp / INT8_FILE)
            if dataset_dir and card.get("kind") == "tagger":
                from nlpfactory.ner.export_check import check_int8_entity_f1

                metrics.update(check_int8_entity_f1(tmp, card, dataset_dir, cfg.max_int8_accuracy_drop))
            elif dataset_dir:
                metrics.update(_check_int8_accuracy(tmp, card, dataset_dir, cfg.max_int8_accuracy_drop))
        name = service_name(cfg.register_name or Path(output_dir).name,
                            domain=student_domain(card))
        if cfg.kserve_runtime == "huggingface":
            _write_huggingface(model, tokenizer, card, tmp / HF_SUBFOLDER)
        elif cfg.kserve_runtime == "triton":
            served = tmp / (INT8_FILE if cfg.quantize else FP32_FILE)
            write_triton_repository(tmp, name, served, names, list(card["labels"]))
        write_manifest(tmp, name, cfg.kserve_runtime, cfg.storage_uri)

        export_card = _export_card(card, model_dir, cfg, metrics, run.run_id)
        write_card(tmp, export_card)
        registered_uri = ""
        if cfg.register_name:
            registered_uri = _register(tmp, cfg, export_card, run.run_id)
            write_card(tmp, export_card)  # now with the registry entry
        run.log_metrics(metrics)
        if registered_uri:
            run.set_tags({"nlpfactory.registered_model": registered_uri})
    return ExportResult(Path(output_dir), metrics, registered_uri)


def _check_exportable(card: dict, model_dir) -> None:
    kind = card.get("kind", "classifier")
    if kind in EXPORTABLE_KINDS:
        return
    if kind == EXPORT_KIND:
        raise InputError("this folder is already an export", file=str(model_dir),
                         fix="export the Model folder it was made from")
    raise InputError(
        f"export supports sequence-classification models (kind {' or '.join(EXPORTABLE_KINDS)}); "
        f"this Model folder is a {kind!r} model", file=str(model_dir),
        fix="distill the few-shot model into a classifier (run distill with this model as the teacher), "
            "then export the student",
    )


def _load(model_dir, card: dict):
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    auto = AutoModelForTokenClassification if card.get("kind") == "tagger" else AutoModelForSequenceClassification
    # Eager attention traces to plain MatMul/Softmax, which every ONNX runtime (and int8) handles.
    model = auto.from_pretrained(model_dir, attn_implementation="eager")
    return model.eval(), tokenizer


def _logits_only(model, names):
    """Wrap the model so the graph takes positional token tensors and returns only logits."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs, strict=True))).logits

    return LogitsOnly().eval()


def _sample_inputs(batch: int, length: int, vocab: int, seed: int, names) -> dict[str, np.ndarray]:
    """Random token ids with ragged padding, so the traced graph keeps the attention mask."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(batch, length), dtype=np.int64)
    mask = np.ones((batch, length), dtype=np.int64)
    for row in range(1, batch):
        keep = int(rng.integers(1, length + 1))
        ids[row, keep:], mask[row, keep:] = 0, 0
    types = np.zeros_like(ids)
    types[:, length // 2:] = 1 * mask[:, length // 2:]
    fields = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {n: fields[n] for n in names}


def _export_onnx(model, names, path: Path, opset: int, max_length: int, per_token: bool = False) -> None:
    import torch

    sample = _sample_inputs(2, min(16, max_length), model.config.vocab_size, 0, names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | \
        {"logits": {0: "batch", 1: "sequence"} if per_token else {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer chatter about Python bools in the mask helpers
        # dynamo=False: the TorchScript exporter needs no onnxscript and handles BERT's dynamic axes.
        torch.onnx.export(_logits_only(model, names), tuple(torch.from_numpy(sample[n]) for n in names),
                          str(path), input_names=list(names), output_names=["logits"],
                          dynamic_axes=axes, opset_version=opset, dynamo=False)


def _session(path: Path):
    import onnxruntime as ort

    from nlpfactory.serving.onnx_predictor import _default_threads

    options = ort.SessionOptions()
    options.intra_op_num_threads = _default_threads()
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _check_parity(model, path: Path, names, tolerance: float) -> dict[str, float]:
    """Compare logits on shapes unlike the traced one (batch 1, odd lengths, padding)."""
    import torch

    session = _session(path)
    limit = min(model.config.max_position_embeddings, 128)
    worst = 0.0
    for seed, (batch, length) in enumerate([(1, 5), (3, 37), (8, limit)]):
        inputs = _sample_inputs(batch, length, model.config.vocab_size, seed + 1, names)
        with torch.no_grad():
            expected = model(**{n: torch.from_numpy(v) for n, v in inputs.items()}).logits.numpy()
        got = session.run(["logits"], inputs)[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    if worst > tolerance:
        raise ExportCheckError(
            f"ONNX Runtime logits differ from PyTorch by up to {worst:.3g} (allowed: {tolerance:g}).\n"
            "  fix: try another --opset, or raise --tolerance if this difference is acceptable")
    log.info("ONNX parity: max abs logit difference %.3g (allowed %g)", worst, tolerance)
    return {"onnx_max_abs_diff": worst}


def _quantize(fp32: Path, int8: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # ORT logs a hint to pre-process first; its symbolic shape inference fails on the traced
    # BERT graph, so the hint would only mislead. Silence it for this call.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)


def _check_int8_accuracy(export_dir: Path, card: dict, dataset_dir, max_drop: float) -> dict[str, float]:
    from nlpfactory.data.dataset import read_info
    from nlpfactory.serving.onnx_predictor import OnnxPredictor

    def accuracy(frame, precision: str) -> float:
        texts = frame["text"].astype(str).tolist()
        texts_b = frame["text_b"].astype(str).tolist() if "text_b" in frame and read_info(dataset_dir).is_pair else None
        predicted = OnnxPredictor(export_dir, card, precision=precision).predict(texts, texts_b)
        return float((np.asarray(predicted) == frame["label"].astype(str).to_numpy()).mean() * 100)

    return check_int8_keeps("accuracy", accuracy, dataset_dir, max_drop, rows="rows", unit="%",
                            domain=student_domain(card))


def student_domain(card: dict) -> str:
    """The domain a per-domain student was distilled for ("" for one that serves every domain)."""
    return card.get("distillation", {}).get("domain") or ""


def check_int8_keeps(score_name: str, score: Callable, dataset_dir, max_drop: float, *, rows: str,
                     unit: str = "", domain: str = "") -> dict[str, float]:
    """int8 must keep the fp32 `score(frame, precision)` (in points) on the Dataset's dev
    (else test) split within `max_drop`; the numbers go into the export's metrics. A
    per-domain student (`domain`) is scored on its domain's rows, the only ones it serves."""
    from nlpfactory.data.dataset import has_split, load_split
    from nlpfactory.distill.rows import domain_rows

    split = next((s for s in ("dev", "test") if has_split(dataset_dir, s)), None)
    if split is None:
        warnings.warn(f"{dataset_dir}: no dev or test split, so int8 {score_name.replace('_', ' ')} is not checked",
                      stacklevel=3)
        return {}
    frame = load_split(dataset_dir, split)
    if domain and "domain" in frame:
        frame = domain_rows(frame, domain, dataset_dir, split)
    elif domain:
        warnings.warn(f"{dataset_dir}: no domain column, so the {domain} student's int8 check scores the whole "
                      f"{split} split", stacklevel=3)
    got = {precision: score(frame, precision) for precision in ("fp32", "int8")}
    drop = got["fp32"] - got["int8"]
    where = f"the {split} split" + (f"'s {domain} rows" if domain and "domain" in frame else "")
    if drop > max_drop:
        raise ExportCheckError(
            f"int8 {score_name.replace('_', ' ')} on {where} ({len(frame)} {rows}) is "
            f"{got['int8']:.2f}{unit} against {got['fp32']:.2f}{unit} for fp32: a drop of {drop:.2f} points "
            f"(allowed: {max_drop:g}).\n"
            "  fix: serve model.onnx (fp32) by exporting with --quantize false, or raise --max-int8-accuracy-drop")
    return {f"{split}_{score_name}_fp32": got["fp32"], f"{split}_{score_name}_int8": got["int8"],
            f"int8_{score_name}_drop": drop, f"int8_check_{rows}": float(len(frame))}


def _write_huggingface(model, tokenizer, card: dict, folder: Path) -> None:
    """The PyTorch weights for KServe's Hugging Face runtime, with label names in the config."""
    name_labels(model, list(card["labels"]))
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def _export_card(card: dict, model_dir, cfg: ExportConfig, metrics: dict, run_id: str | None) -> dict:
    out = {k: v for k, v in card.items() if k != "export"}
    out["kind"] = EXPORT_KINDS.get(card.get("kind", "classifier"), EXPORT_KIND)
    out["export"] = {
        "from": {"model_dir": str(model_dir), "kind": card.get("kind", "classifier")},
        "mlflow_run_id": run_id,
        "files": [FP32_FILE] + ([INT8_FILE] if cfg.quantize else []),
        "opset": cfg.opset,
        "kserve_runtime": cfg.kserve_runtime,
        "checks": dict(metrics),
        "config": dataclasses.asdict(cfg),
    }
    return out


def _register(export_dir: Path, cfg: ExportConfig, export_card: dict, run_id: str | None) -> str:
    """Register in MLflow. Asked for and failed, the stage fails (non-zero exit, no export
    folder): a pipeline that reports success must have left a model a deployment can pull."""
    from nlpfactory.serving.registry import RegistrationError, register_export

    pair = "text_b" in export_card.get("text_columns", [])
    try:
        registered = register_export(export_dir, cfg.register_name, cfg.alias, run_id=run_id, pair=pair,
                                     tagger=export_card.get("kind") == "onnx_tagger")
    except RegistrationError:
        raise
    except Exception as err:  # MLflow raises many kinds; each means the same to the user
        raise RegistrationError(
            f"could not register {cfg.register_name!r} in the MLflow model registry: {err}\n"
            "  fix: check MLFLOW_TRACKING_URI and that the server and its artifact store are reachable, "
            "or export without --register-name") from err
    export_card["export"]["registered"] = {"name": registered.name, "version": registered.version,
                                           "alias": registered.alias, "uri": registered.uri,
                                           "run_id": registered.run_id}
    log.info("registered %s (version %s)", registered.uri, registered.version)
    return registered.uri


def _mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 3)
