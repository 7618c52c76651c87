"""Read and write TSV/CSV/JSONL/Parquet tables a chunk at a time, so a file larger than
memory streams through prediction with bounded RAM.

nlpfactory.data.readers reads a whole file at once (right for preparing a Dataset); this
module follows its conventions (format from the extension, a header line, TSV split on tabs
with no quoting, physical line numbers, Parquet rows counted from 1) but yields chunks.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from nlpfactory.data.readers import file_format
from nlpfactory.errors import InputError


class Chunk:
    """Some consecutive rows of a table, with where each row is in the file."""

    def __init__(self, frame: pd.DataFrame, numbers: list[int], where: str):
        self.frame, self.numbers, self.where = frame, numbers, where  # where: "line" or "row"


def count_rows(path: str | Path) -> int | None:
    """The row count when it is known without reading the file (Parquet metadata)."""
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def read_chunks(path: str | Path, chunk_rows: int) -> Iterator[Chunk]:
    path = Path(path)
    if not path.is_file():
        raise InputError("the file does not exist", file=str(path), fix="check the path")
    fmt = file_format(path)
    if fmt == "parquet":
        yield from _parquet_chunks(path, chunk_rows)
        return
    records = {"tsv": _tsv_records, "csv": _csv_records, "jsonl": _jsonl_records}[fmt](path)
    batch, numbers = [], []
    for number, record in records:
        batch.append(record)
        numbers.append(number)
        if len(batch) == chunk_rows:
            yield Chunk(pd.DataFrame.from_records(batch), numbers, "line")
            batch, numbers = [], []
    if batch:
        yield Chunk(pd.DataFrame.from_records(batch), numbers, "line")


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    start = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        yield Chunk(frame, list(range(start, start + len(frame))), "row")
        start += len(frame)


def _open_text(path: Path):
    # utf-8-sig drops a byte-order mark that Windows editors put at the start.
    return path.open("r", encoding="utf-8-sig", newline="")


def _header(path: Path, fields: list[str], line: int) -> list[str]:
    names = [f.strip() for f in fields]
    if not any(names) or len(set(names)) != len(names):
        raise InputError("the header line has empty or repeated column names", file=str(path), line=line,
                         fix="give every column a distinct name in the first line")
    return names


def _tsv_records(path: Path) -> Iterator[tuple[int, dict]]:
    names = None
    with _open_text(path) as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line:  # only a truly empty line is skipped: "\t" is a row with empty fields
                continue
            values = line.split("\t")
            if names is None:
                names = _header(path, values, number)
                continue
            if len(values) != len(names):
                raise InputError(f"the row has {len(values)} fields but the header has {len(names)}",
                                 file=str(path), line=number,
                                 fix="remove the extra tab inside the text, or fill in the missing field")
            yield number, dict(zip(names, values, strict=True))


def _csv_records(path: Path) -> Iterator[tuple[int, dict]]:
    names = None
    with _open_text(path) as f:
        reader = csv.reader(f)
        start = 1
        for values in reader:
            number, start = start, reader.line_num + 1  # a quoted field may span lines
            if not values:  # an empty line; a row of empty fields stays, to be reported
                continue
            if names is None:
                names = _header(path, values, number)
                continue
            if len(values) != len(names):
                raise InputError(f"the row has {len(values)} fields but the header has {len(names)}",
                                 file=str(path), line=number,
                                 fix='quote fields that contain commas ("like, this"), or fill in the missing field')
            yield number, dict(zip(names, values, strict=True))


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    with _open_text(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"the line is not valid JSON ({err.msg})", file=str(path), line=number,
                                 fix="write one JSON object per line") from None
            if not isinstance(record, dict):
                raise InputError("the line is not a JSON object", file=str(path), line=number,
                                 fix='write one object per line, e.g. {"text": "..."}')
            yield number, record


class TableWriter:
    """Append chunks to a TSV/CSV/JSONL/Parquet file; the format comes from the extension."""

    def __init__(self, path: str | Path, fmt_path: str | Path | None = None):
        self.path = Path(path)
        self.fmt = file_format(fmt_path or path)
        self._parquet = None
        self._file = None
        self._csv = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            self._write_parquet(frame)
            return
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            if self.fmt != "jsonl":
                self._csv = _delimited_writer(self._file, self.fmt)
                self._csv.writerow(list(frame.columns))
        if self.fmt == "jsonl":
            for record in frame.to_dict("records"):
                self._file.write(json.dumps(record, ensure_ascii=False, default=_plain) + "\n")
        else:
            for record in frame.itertuples(index=False):
                self._csv.writerow([_cell(v, self.fmt) for v in record])

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, table.schema)
        self._parquet.write_table(table.cast(self._parquet.schema))

    def close(self) -> None:
        """Finish the file; safe to call more than once."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._file is not None:
            self._file.close()
            self._file = None


def _delimited_writer(f, fmt: str):
    if fmt == "tsv":
        # Our TSV has no quoting (Chinese text is full of quote marks); _cell keeps tabs and
        # line breaks out of the fields instead.
        return csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None,
                          escapechar=None, lineterminator="\n")
    return csv.writer(f, lineterminator="\n")


def _cell(value, fmt: str) -> str:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple, dict)):
        value = json.dumps(value, ensure_ascii=False)
    elif value is None or (isinstance(value, float) and value != value):
        value = ""
    value = str(value)
    if fmt == "tsv":
        value = value.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return value


def _plain(value):
    """numpy scalars and arrays as plain Python, for JSON."""
    return value.tolist() if hasattr(value, "tolist") else str(value)
