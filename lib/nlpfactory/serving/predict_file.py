"""Batch prediction over a TSV/CSV/JSONL/Parquet file (or a Dataset split), streamed.

The input is read a chunk at a time and the output written as it goes, to a temporary file
that is renamed into place only when every row was predicted: a file with bad rows (a
missing or empty text) gets them all reported by line, and no partial output is left.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nlpfactory.config import option
from nlpfactory.errors import InputError
from nlpfactory.serving.onnx_predictor import PRECISIONS, open_predictor
from nlpfactory.serving.table_stream import TableWriter, count_rows, read_chunks

SHOWN_BAD_ROWS = 10
CHUNKS_PER_READ = 16  # batches read at once: enough to amortize parsing, small enough for RAM


@dataclass
class PredictConfig:
    batch_size: int = option(64, "How many rows the model predicts at once.")
    text_column: str = option("text", "The input column holding the text to classify.")
    text_b_column: str = option("", "The input column holding the second text of a pair; empty: text_b when the model takes pairs.")
    split: str = option("test", "When the input is a Dataset folder: which split to predict.")
    precision: str = option("auto", "For an export folder: int8, fp32, or auto (int8 when the export has it).")
    device: str = option("auto", "Where to run the model: auto (a GPU when there is one), cpu or cuda.")

    def __post_init__(self):
        if self.batch_size < 1:
            raise InputError("batch_size must be at least 1", column="batch_size", fix="use e.g. 64")
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown precision {self.precision!r}", column="precision",
                             fix=f"choose one of {', '.join(PRECISIONS)}")


@dataclass
class PredictResult:
    path: Path
    rows: int
    label_counts: dict[str, int]


def input_file(input_path: str | Path, split: str) -> Path:
    """A file as given, or a Dataset folder's split file."""
    path = Path(input_path)
    if path.is_dir():
        split_file = path / f"{split}.parquet"
        if not split_file.is_file():
            raise InputError(f"the folder has no {split}.parquet", file=str(path),
                             fix="point at a data file, or at a Dataset folder and choose --split")
        return split_file
    return path


def predict_file(cfg: PredictConfig, model_dir: str | Path, input_path: str | Path,
                 output_path: str | Path) -> PredictResult:
    """Predict every row of `input_path`; write its columns plus `prediction` and
    `probabilities` (in the model's label order) to `output_path` (format from the extension)."""
    from tqdm.auto import tqdm

    source, output = input_file(input_path, cfg.split), Path(output_path)
    predictor = open_predictor(model_dir, cfg.device, cfg.precision, cfg.batch_size)
    pair_column = cfg.text_b_column or ("text_b" if "text_b" in predictor.card.get("text_columns", []) else "")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    writer = TableWriter(tmp, fmt_path=output)
    bad: list[tuple[int, str]] = []
    where, rows, counts = "line", 0, dict.fromkeys(predictor.labels, 0)
    try:
        with tqdm(total=count_rows(source), unit="rows", desc="predict", mininterval=1.0) as bar:
            for chunk in read_chunks(source, cfg.batch_size * CHUNKS_PER_READ):
                where = chunk.where
                texts = _texts(chunk, cfg.text_column, source, bad)
                texts_b = _texts(chunk, pair_column, source, bad) if pair_column else None
                if not bad:  # after the first bad row, only look for more bad rows
                    frame = chunk.frame.copy()
                    probs = predictor.predict_proba(texts, texts_b)
                    labels = [predictor.labels[i] for i in probs.argmax(axis=1)]
                    frame["prediction"] = labels
                    frame["probabilities"] = [[round(float(p), 6) for p in row] for row in probs]
                    writer.write(frame)
                    for label in labels:
                        counts[label] += 1
                rows += len(chunk.frame)
                bar.update(len(chunk.frame))
        writer.close()
        if bad:
            raise _bad_rows_error(bad, source, where)
        if rows == 0:
            raise InputError("the file has no data rows", file=str(source), fix="point at a file with rows")
        os.replace(tmp, output)
    finally:
        writer.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return PredictResult(output, rows, counts)


def _texts(chunk, column: str, source: Path, bad: list[tuple[int, str]]) -> list[str]:
    frame = chunk.frame
    if column not in frame:
        have = ", ".join(map(str, frame.columns))
        raise InputError(f"the file has no column {column!r} (its columns: {have})", file=str(source),
                         column=column, fix="name the text column with --text-column (or --text-b-column)")
    texts = []
    for number, value in zip(chunk.numbers, frame[column].tolist(), strict=True):
        text = "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()
        if not text:
            bad.append((number, column))
        texts.append(text)
    return texts


def _bad_rows_error(bad: list[tuple[int, str]], source: Path, where: str) -> InputError:
    shown = ", ".join(f"{where} {n} ({col!r})" for n, col in bad[:SHOWN_BAD_ROWS])
    more = f" and {len(bad) - SHOWN_BAD_ROWS} more" if len(bad) > SHOWN_BAD_ROWS else ""
    first = bad[0][0]
    return InputError(
        f"{len(bad)} row(s) have a missing or empty text: {shown}{more}; nothing was written",
        file=str(source), line=first if where == "line" else None,
        fix="fill in the text or delete those rows, then run predict again",
    )


def predict_to_folder(cfg: PredictConfig, model_dir: str | Path, input_path: str | Path,
                      output_dir: str | Path) -> PredictResult:
    """Like predict_file, into a folder (a pipeline artifact): `predictions.<ext>`, where the
    extension is the input file's (Parquet for a Dataset split)."""
    from nlpfactory.atomic import atomic_dir

    suffix = input_file(input_path, cfg.split).suffix
    with atomic_dir(output_dir) as tmp:
        result = predict_file(cfg, model_dir, input_path, tmp / f"predictions{suffix}")
    return PredictResult(Path(output_dir) / result.path.name, result.rows, result.label_counts)
