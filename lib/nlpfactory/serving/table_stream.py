"""Read and write TSV/CSV/JSONL/Parquet tables a chunk at a time, so a file larger than
memory streams through prediction with bounded RAM. Reading goes through the one table
reader (nlpfactory.data.readers.open_table), so `predict` reads a file exactly as `prepare`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from nlpfactory.data.readers import file_format, open_table


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


def read_chunks(path: str | Path, chunk_rows: int, encoding: str = "utf-8") -> Iterator[Chunk]:
    """The rows of a table, `chunk_rows` at a time, read by the same reader (and rules) as
    `prepare` uses: nlpfactory.data.readers.open_table."""
    table = open_table(path, encoding=encoding)
    batch, numbers = [], []
    for number, record in table.rows:
        batch.append(record)
        numbers.append(number)
        if len(batch) == chunk_rows:
            yield Chunk(pd.DataFrame.from_records(batch), numbers, table.where)
            batch, numbers = [], []
    if batch:
        yield Chunk(pd.DataFrame.from_records(batch), numbers, table.where)


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
