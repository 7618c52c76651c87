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

from nlpfactory.atomic import umask
from nlpfactory.data.readers import visible
from nlpfactory.errors import InputError
from nlpfactory.serving.onnx_predictor import open_predictor
from nlpfactory.serving.table_stream import TableWriter, count_rows, read_chunks
from nlpfactory.stages.predict import PredictConfig

SHOWN_BAD_ROWS = 10
CHUNKS_PER_READ = 16  # batches read at once: enough to amortize parsing, small enough for RAM


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


class BadRows:
    """Rows without text: a count and the first few, so a file of bad rows stays small in RAM."""

    def __init__(self):
        self.count, self.first = 0, []

    def add(self, number: int, column: str) -> None:
        self.count += 1
        if len(self.first) < SHOWN_BAD_ROWS:
            self.first.append((number, column))

    def error(self, source: Path, where: str) -> InputError:
        shown = ", ".join(f"{where} {n} ({col!r})" for n, col in self.first)
        more = f" and {self.count - len(self.first)} more" if self.count > len(self.first) else ""
        return InputError(
            f"{self.count} row(s) have a missing or empty text: {shown}{more}; nothing was written",
            file=str(source), line=self.first[0][0] if where == "line" else None,
            fix="fill in the text or delete those rows, then run predict again",
        )


def predict_file(cfg: PredictConfig, model_dir: str | Path, input_path: str | Path,
                 output_path: str | Path) -> PredictResult:
    """Predict every row of `input_path`; write its columns plus `prediction` and
    `probabilities` (in the model's label order) to `output_path` (format from the extension)."""
    from tqdm.auto import tqdm

    source, output = input_file(input_path, cfg.split), Path(output_path)
    check_output_file(output, source)
    predictor = open_predictor(model_dir, cfg.device, cfg.precision, cfg.batch_size)
    pair_column = cfg.text_b_column or ("text_b" if "text_b" in predictor.card.get("text_columns", []) else "")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    except OSError as err:
        raise InputError(f"cannot write in {output.parent} ({err.strerror})", file=str(output),
                         fix="choose an output path in a folder you can write to") from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes it private; the predictions are an ordinary file
    writer = TableWriter(tmp, fmt_path=output)
    bad = BadRows()
    tagger = hasattr(predictor, "predict_entities")
    where, rows, counts = "line", 0, {} if tagger else dict.fromkeys(predictor.labels, 0)
    try:
        with tqdm(total=count_rows(source), unit="rows", desc="predict", mininterval=1.0) as bar:
            for chunk in read_chunks(source, cfg.batch_size * CHUNKS_PER_READ, cfg.encoding):
                where, first_chunk = chunk.where, rows == 0
                texts = _texts(chunk, cfg.text_column, source, bad, first_chunk)
                texts_b = _texts(chunk, pair_column, source, bad, first_chunk) if pair_column else None
                if not bad.count:  # after the first bad row, only look for more bad rows
                    frame = _predicted(predictor, chunk.frame, texts, texts_b)
                    writer.write(frame)
                    for label in _found_labels(frame, tagger):
                        counts[label] = counts.get(label, 0) + 1
                rows += len(chunk.frame)
                bar.update(len(chunk.frame))
        writer.close()
        if bad.count:
            raise bad.error(source, where)
        os.replace(tmp, output)
    finally:
        writer.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return PredictResult(output, rows, counts)


def check_output_file(output: Path, source: Path) -> None:
    """Refuse an output that would overwrite the input or that cannot be written, before any
    work (and before any temporary file exists)."""
    from nlpfactory.atomic import make_parent
    from nlpfactory.serving.table_stream import file_format

    if output.resolve() == source.resolve():
        raise InputError("the output is the input file; predicting would overwrite it",
                         file=str(output), fix="write the predictions to a new file")
    if output.is_dir():
        raise InputError("the output is a folder", file=str(output),
                         fix="name a file for --output, e.g. predictions.tsv")
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{parent} is a file, so it cannot hold the output", file=str(output),
                                 fix="choose an output path inside a folder")
            break
    file_format(output)  # an unknown extension is an error now, not after the model ran
    make_parent(output)


def _predicted(predictor, frame, texts: list[str], texts_b: list[str] | None):
    if hasattr(predictor, "predict_entities"):  # a tagger: tags per character and entity spans
        import json

        found = predictor.predict_entities(texts)
        return frame.assign(tags=[" ".join(f["tags"]) for f in found],
                            entities=[json.dumps(f["entities"], ensure_ascii=False) for f in found])
    probs = predictor.predict_proba(texts, texts_b)
    frame = frame.copy()
    frame["prediction"] = [predictor.labels[i] for i in probs.argmax(axis=1)]
    frame["probabilities"] = [[round(float(p), 6) for p in row] for row in probs]
    return frame


def _found_labels(frame, tagger: bool) -> list[str]:
    """What the summary counts: predicted labels, or a tagger's entities by type."""
    if not tagger:
        return list(frame["prediction"])
    import json

    return [e["type"] for row in frame["entities"] for e in json.loads(row)]


def _texts(chunk, column: str, source: Path, bad: BadRows, first_chunk: bool) -> list[str]:
    frame = chunk.frame
    if column not in frame:
        if first_chunk:  # a header-less column, or a JSONL field no early row has: a wrong name
            have = ", ".join(map(str, frame.columns))
            raise InputError(f"the file has no column {column!r} (its columns: {have})", file=str(source),
                             column=column, fix="name the text column with --text-column (or --text-b-column)")
        frame = frame.assign(**{column: None})
    texts = []
    for number, value in zip(chunk.numbers, frame[column].tolist(), strict=True):
        text = "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()
        if not visible(text):  # empty, or only zero-width or control characters
            bad.add(number, column)
        texts.append(text)
    return texts


def predict_to_folder(cfg: PredictConfig, model_dir: str | Path, input_path: str | Path,
                      output_dir: str | Path) -> PredictResult:
    """Like predict_file, into a folder (a pipeline artifact): `predictions.<ext>`, where the
    extension is the input file's (Parquet for a Dataset split)."""
    from nlpfactory.atomic import atomic_dir

    suffix = input_file(input_path, cfg.split).suffix
    with atomic_dir(output_dir, inputs=(input_path, model_dir)) as tmp:
        result = predict_file(cfg, model_dir, input_path, tmp / f"predictions{suffix}")
    return PredictResult(Path(output_dir) / result.path.name, result.rows, result.label_counts)
