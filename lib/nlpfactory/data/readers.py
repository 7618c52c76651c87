"""Read a user's TSV, CSV, JSONL or Parquet file into our standard columns (text, text_b,
label, domain), checking every row on the way in.

The format comes from the extension (.tsv and .txt are tab-separated). A TSV/CSV file has a
header line unless a schema names its columns. Problems are reported with the physical line
of the file (the header is line 1), so a user can open the file at that line and fix it.
TSV fields are split on tabs only, with no quoting: Chinese text is full of quote marks.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from nlpfactory.data.schema import parse_schema
from nlpfactory.errors import InputError

FORMATS = {".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}
# Standard column -> the option that names the file's column for it.
OPTION_FOR = {"text": "--text-col", "text_b": "--text-b-col", "label": "--label-col",
              "domain": "--domain-col"}


@dataclasses.dataclass(frozen=True)
class Columns:
    """Which of the file's columns become our standard ones ("" = the file has none)."""

    text: str = "text"
    label: str = "label"
    text_b: str = ""
    domain: str = ""

    def mapping(self) -> dict[str, str]:
        """Standard column -> the file's column, in our column order."""
        named = {"text": self.text, "text_b": self.text_b, "label": self.label, "domain": self.domain}
        return {std: col for std, col in named.items() if col}


def file_format(path: str | Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the format from the extension {Path(path).suffix!r}",
                         file=str(path), fix=f"rename it to one of {', '.join(sorted(FORMATS))}")
    return fmt


def read_file(path: str | Path, columns: Columns = Columns(), *, schema: str = "",
              encoding: str = "utf-8", labels: list[str] = ()) -> pd.DataFrame:
    """Read one data file into a DataFrame with the standard columns.

    `labels`, when given, is the complete list of allowed label names; any other label is an
    error that names its line.
    """
    path = Path(path)
    fields = [f.name for f in parse_schema(schema)]
    fmt = file_format(path)
    if not path.is_file():
        raise InputError("the file does not exist", file=str(path),
                         fix="check the path, or give a corpus name (see `nlpfactory data list`)")
    if path.stat().st_size == 0:
        raise InputError("the file is empty", file=str(path), fix="point at a file with data rows")
    if fmt == "parquet":
        rows, have, where = _parquet_rows(path), _parquet_columns(path), "row"
    else:
        text = decode(path, encoding)
        if fmt == "jsonl":
            rows, have = _jsonl_rows(path, text)
        else:
            rows, have = _delimited_rows(path, text, "\t" if fmt == "tsv" else ",", fields)
        where = "line"
    _check_columns(path, have, columns, fields if fmt in ("jsonl", "parquet") else [])
    return _standardize(path, rows, columns, labels, where)


def decode(path: Path, encoding: str) -> str:
    """The file's text without a byte-order mark; a wrong encoding says what it looks like."""
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except LookupError:
        raise InputError(f"{encoding!r} is not an encoding Python knows", column="encoding",
                         fix="use a codec name such as utf-8, gb18030 or big5") from None
    except UnicodeDecodeError as err:
        guess = guess_encoding(data)
        line = data.count(b"\n", 0, err.start) + 1
        looks = f"it looks like {guess}" if guess else "its encoding could not be recognised"
        fix = (f"re-save it as UTF-8, or pass --encoding {guess}" if guess
               else "re-save it as UTF-8, or pass --encoding with the file's encoding")
        raise InputError(f"the file is not valid {encoding} ({looks})", file=str(path), line=line,
                         fix=fix) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InputError("the file is empty", file=str(path), fix="point at a file with data rows")
    return text


def guess_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best else None


def _delimited_rows(path: Path, text: str, delimiter: str,
                    schema: list[str]) -> tuple[Iterator[tuple[int, dict]], list[str]]:
    records = _tsv_records(text) if delimiter == "\t" else _csv_records(text)
    first_line, first = next(records)
    if schema and [f.strip() for f in first] != schema:
        names = schema
        records = _chain_first((first_line, first), records)
    else:  # a header line (a schema-described file may repeat its names as a header)
        names = [f.strip() for f in first]
        if not schema and (not all(names) or len(set(names)) != len(names)):
            raise InputError(f"the header line {delimiter.join(names)!r} has empty or repeated "
                             "column names", file=str(path), line=first_line,
                             fix="give every column a name, or describe a headerless file with --schema")

    def rows() -> Iterator[tuple[int, dict]]:
        for line, values in records:
            if len(values) != len(names):
                raise InputError(f"the row has {len(values)} fields but the file has {len(names)} "
                                 f"columns ({', '.join(names)})", file=str(path), line=line,
                                 fix=_width_fix(delimiter))
            yield line, dict(zip(names, values, strict=True))

    return rows(), names


def _width_fix(delimiter: str) -> str:
    if delimiter == "\t":
        return "remove the extra tab inside the text, or fill in the missing field"
    return "quote fields that contain commas (\"like, this\"), or fill in the missing field"


def _chain_first(first: tuple[int, list[str]], rest: Iterator) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


def _tsv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    # split("\n"), not splitlines(): splitlines also breaks on characters such as U+2028 that
    # editors do not show as line ends, and the line numbers would drift.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip() or "\t" in line:  # a line of empty fields is a row (and an error)
            yield number, line.split("\t")


def _csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for values in reader:
        if len(values) > 1 or (values and values[0].strip()):
            yield start, values
        start = reader.line_num + 1  # a quoted field may span several physical lines


def _jsonl_rows(path: Path, text: str) -> tuple[Iterator[tuple[int, dict]], list[str]]:
    def records() -> Iterator[tuple[int, dict]]:
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"the line is not valid JSON ({err.msg})", file=str(path),
                                 line=number, fix="write one JSON object per line") from None
            if not isinstance(record, dict):
                raise InputError("the line is not a JSON object", file=str(path), line=number,
                                 fix='write one object per line, e.g. {"text": "...", "label": "..."}')
            yield number, record

    it = records()
    first = next(it)
    return _chain_first(first, it), list(first[1])


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError(f"the file is not a readable Parquet file ({err})", file=str(path),
                         fix="write it with pandas.DataFrame.to_parquet or pyarrow") from None


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict]]:
    frame = pd.read_parquet(path)
    if frame.empty:
        raise InputError("the file has no rows", file=str(path), fix="point at a file with data rows")
    yield from enumerate(frame.to_dict("records"), start=1)


def _check_columns(path: Path, have: list[str], columns: Columns, schema: list[str]) -> None:
    for std, col in columns.mapping().items():
        if col not in have:
            raise InputError(f"the file has no column {col!r} (its columns: {', '.join(map(str, have))})",
                             file=str(path), column=col,
                             fix=f"set {OPTION_FOR[std]} to one of its columns, or name the "
                                 "columns of a headerless TSV/CSV file with --schema")
    for name in schema:
        if name not in have:
            raise InputError(f"the schema names a column {name!r} that the file lacks "
                             f"(its columns: {', '.join(map(str, have))})", file=str(path),
                             column=name, fix="drop --schema for JSONL/Parquet files, or fix the name")


def _standardize(path: Path, rows: Iterator[tuple[int, dict]], columns: Columns,
                 labels: list[str], where: str) -> pd.DataFrame:
    mapping = columns.mapping()
    allowed = set(labels)
    out: dict[str, list[str]] = {std: [] for std in mapping}
    count = 0
    for number, record in rows:
        count += 1
        for std, col in mapping.items():
            if col not in record:
                raise _row_error(f"the row has no field {col!r}", path, where, number,
                                 f"give every row a {col!r} field")
            value = _cell(record[col])
            if not value:
                raise _row_error(f"the {std} (column {col!r}) is empty", path, where, number,
                                 f"fill in the {std}, or delete the row")
            out[std].append(value)
        if allowed and out["label"][-1] not in allowed:
            raise _row_error(f"the label {out['label'][-1]!r} is not one of the allowed labels "
                             f"({', '.join(labels)})", path, where, number,
                             "correct the label, or add it to --labels")
    if count == 0:
        raise InputError("the file has a header but no data rows", file=str(path),
                         fix="point at a file with data rows")
    return pd.DataFrame(out)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    return str(value).strip()


def _row_error(problem: str, path: Path, where: str, number: int, fix: str) -> InputError:
    if where == "line":
        return InputError(problem, file=str(path), line=number, fix=fix)
    return InputError(f"{where} {number}: {problem}", file=str(path), fix=fix)
