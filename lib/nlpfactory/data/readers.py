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
    table = open_table(path, encoding=encoding, schema=schema)
    _check_columns(table.path, table.columns, columns,
                   table.schema if table.format in ("jsonl", "parquet") else [])
    return _standardize(table.path, table.rows, columns, labels, table.where)


@dataclasses.dataclass
class Table:
    """A data file being read: its column names and an iterator over its rows, each with its
    physical line (or, for Parquet, its row number), read as the rows are asked for."""

    path: Path
    format: str
    columns: list[str]
    rows: Iterator[tuple[int, dict]]
    where: str  # "line" or "row"
    schema: list[str]


def open_table(path: str | Path, *, encoding: str = "utf-8", schema: str = "") -> Table:
    """The one reader of users' tables, for `prepare` and `predict` alike (one set of rules):

    - the format comes from the extension; text is decoded line by line in `encoding` (a
      byte-order mark at the start is dropped), so a file of any size streams (UTF-8,
      GB18030, Big5 and the like; not UTF-16, where a line end is not the byte "\\n");
    - a line ends at "\\n" (a "\\r" just before it belongs to the line end; any other "\\r" is
      part of the text);
    - a blank line (nothing but spaces) is skipped; a line of empty fields is a row;
    - a TSV/CSV file's first row is its header (distinct, non-empty names) unless `schema`
      names the columns; JSONL takes the first object's keys.
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
        return Table(path, fmt, _parquet_columns(path), _parquet_rows(path), "row", fields)
    lines = decoded_lines(path, _codec(encoding))
    if fmt == "jsonl":
        rows = _jsonl_rows(path, lines)
    else:
        delimiter = "\t" if fmt == "tsv" else ","
        records = _tsv_records(lines) if fmt == "tsv" else _csv_records(path, lines)
        rows = _delimited_rows(path, records, delimiter, fields)
    first = next(rows, None)
    if first is None:
        raise InputError("the file is empty", file=str(path), fix="point at a file with data rows")
    names = first[1] if fmt != "jsonl" else list(first[1])
    body = rows if fmt != "jsonl" else _chain_first(first, rows)
    return Table(path, fmt, names, _at_least_one(path, body), "line", fields)


def _at_least_one(path: Path, rows: Iterator) -> Iterator:
    count = 0
    for row in rows:
        count += 1
        yield row
    if count == 0:
        raise InputError("the file has a header but no data rows", file=str(path),
                         fix="point at a file with data rows")


def _codec(encoding: str) -> str:
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"{encoding!r} is not an encoding Python knows", column="encoding",
                         fix="use a codec name such as utf-8, gb18030 or big5") from None
    if name.startswith(("utf-16", "utf-32")):  # a line end is not the byte \n there
        raise InputError(f"files in {name} are not read line by line", column="encoding",
                         fix="re-save the file as UTF-8 (or GB18030)")
    return name


def decoded_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, text without its line end), decoded one line at a time."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError:
                raise _encoding_error(path, encoding, number) from None
            if number == 1:
                line = line.removeprefix("\ufeff")
            yield number, line.removesuffix("\n").removesuffix("\r")


def _encoding_error(path: Path, encoding: str, line: int) -> InputError:
    with path.open("rb") as f:
        guess = guess_encoding(f.read(1 << 20))
    looks = f"it looks like {guess}" if guess else "its encoding could not be recognised"
    fix = (f"re-save it as UTF-8, or pass --encoding {guess}" if guess
           else "re-save it as UTF-8, or pass --encoding with the file's encoding")
    return InputError(f"the file is not valid {encoding} ({looks})", file=str(path), line=line, fix=fix)


def guess_encoding(data: bytes) -> str | None:
    """The likely encoding of bytes that are not UTF-8. Chinese encodings are tried first:
    a general detector calls much GB18030 text cp949 or shift_jis, which decodes to mojibake."""
    for candidate in ("gb18030", "big5"):
        text = _decodes(data, candidate)
        if text is not None and _mostly_common_chinese(text, candidate):
            return candidate
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best else None


def _decodes(data: bytes, encoding: str) -> str | None:
    # The sample may end inside a character: decode the complete part.
    for cut in range(4):
        try:
            return data[:len(data) - cut].decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _mostly_common_chinese(text: str, encoding: str) -> bool:
    """Nine in ten non-ASCII characters are in the everyday character set of that encoding's
    script (GB2312 for simplified, the common Big5 range for traditional): true text is, while
    bytes of another encoding decode to rare characters."""
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return False
    common = "gb2312" if encoding == "gb18030" else "big5"
    ok = 0
    for c in wide:
        try:
            c.encode(common)
            ok += 1
        except UnicodeEncodeError:
            pass
    return ok >= 0.9 * len(wide)


def _delimited_rows(path: Path, records: Iterator[tuple[int, list[str]]], delimiter: str,
                    schema: list[str]) -> Iterator:
    """Yields the column names first, then (line, row dict) for every data row."""
    first = next(records, None)
    if first is None:
        return
    first_line, values = first
    stripped = [f.strip() for f in values]
    if schema and stripped != schema:
        if {v.casefold() for v in stripped} & {n.casefold() for n in schema}:
            raise InputError(f"the first line ({', '.join(stripped)}) looks like a header, but "
                             f"--schema names the columns {', '.join(schema)}", file=str(path),
                             line=first_line, fix="delete the header line, or drop --schema and "
                             "name the columns with --text-col/--label-col")
        names = schema
        records = _chain_first(first, records)
    else:  # a header line (a schema-described file may repeat its names as a header)
        names = stripped
        if not all(names) or len(set(names)) != len(names):
            raise InputError(f"the header line {delimiter.join(names)!r} has empty or repeated "
                             "column names", file=str(path), line=first_line,
                             fix="give every column a name, or describe a headerless file with --schema")
    yield 0, names
    for line, row in records:
        if len(row) != len(names):
            raise InputError(f"the row has {len(row)} fields but the file has {len(names)} "
                             f"columns ({', '.join(names)})", file=str(path), line=line,
                             fix=_width_fix(delimiter))
        yield line, dict(zip(names, row, strict=True))


def _width_fix(delimiter: str) -> str:
    if delimiter == "\t":
        return "remove the extra tab inside the text, or fill in the missing field"
    return "quote fields that contain commas (\"like, this\"), or fill in the missing field"


def _chain_first(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _tsv_records(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    # Lines end at "\n" only: splitlines would also break on characters such as U+2028 that
    # editors do not show as line ends, and the line numbers would drift.
    for number, line in lines:
        if line.strip() or "\t" in line:  # a line of empty fields is a row (and an error)
            yield number, line.split("\t")


def _csv_records(path: Path, lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    physical = (text + "\n" for _, text in lines)
    reader = csv.reader(physical)
    start = 1
    try:
        for values in reader:
            # [] is an empty line and ["  "] a line of spaces: blank. [""] is a quoted empty
            # field (""): a row, whose empty text is reported.
            if values and (len(values) > 1 or values[0].strip() or values[0] == ""):
                yield start, values
            start = reader.line_num + 1  # a quoted field may span several physical lines
    except csv.Error as err:
        raise InputError(f"the line is not valid CSV ({err})", file=str(path), line=reader.line_num,
                         fix="quote fields that hold commas, quotes or line breaks") from None


def _jsonl_rows(path: Path, lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, dict]]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"the line is not valid JSON ({err.msg})", file=str(path),
                             line=number, fix="write one JSON object per line") from None
        except RecursionError:
            raise InputError("the line nests JSON too deeply", file=str(path), line=number,
                             fix="write one flat JSON object per line") from None
        if not isinstance(record, dict):
            raise InputError("the line is not a JSON object", file=str(path), line=number,
                             fix='write one object per line, e.g. {"text": "...", "label": "..."}')
        yield number, record


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError(f"the file is not a readable Parquet file ({err})", file=str(path),
                         fix="write it with pandas.DataFrame.to_parquet or pyarrow") from None


def _parquet_rows(path: Path, batch_rows: int = 4096) -> Iterator[tuple[int, dict]]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
        for record in batch.to_pylist():
            number += 1
            yield number, record
    if number == 0:
        raise InputError("the file has no rows", file=str(path), fix="point at a file with data rows")


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
    out = _ColumnBuilder(list(mapping))
    for number, record in rows:
        for std, col in mapping.items():
            if col not in record:
                raise _row_error(f"the row has no field {col!r}", path, where, number,
                                 f"give every row a {col!r} field")
            problem = _type_problem(record[col])
            if problem:
                raise _row_error(f"the {std} (column {col!r}) is {problem}, not a single value",
                                 path, where, number, f"write the {std} as a string")
            value = _cell(record[col])
            if not value:
                raise _row_error(f"the {std} (column {col!r}) is empty", path, where, number,
                                 f"fill in the {std}, or delete the row")
            if not visible(value):
                raise _row_error(f"the {std} (column {col!r}) holds only invisible characters "
                                 f"({_codepoints(value)})", path, where, number,
                                 f"fill in the {std}, or delete the row")
            out.add(std, value)
        if allowed and out.last("label") not in allowed:
            raise _row_error(f"the label {out.last('label')!r} is not one of the allowed labels "
                             f"({', '.join(labels)})", path, where, number,
                             "correct the label, or add it to --labels")
        out.row_done()
    return out.frame()


class _ColumnBuilder:
    """Columns of strings gathered into Arrow batches as rows arrive: a file's rows held as
    Python strings (and then converted) took about 5x the file's size; Arrow takes about 1x."""

    BATCH_ROWS = 65536

    def __init__(self, names: list[str]):
        self.names = names
        self.pending: dict[str, list[str]] = {n: [] for n in names}
        self.batches: list = []

    def add(self, name: str, value: str) -> None:
        self.pending[name].append(value)

    def last(self, name: str) -> str:
        return self.pending[name][-1]

    def row_done(self) -> None:
        if len(self.pending[self.names[0]]) >= self.BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        self.batches.append(pa.record_batch({n: pa.array(v, pa.large_string()) for n, v in self.pending.items()}))
        self.pending = {n: [] for n in self.names}

    def frame(self) -> pd.DataFrame:
        import pyarrow as pa

        self._flush()
        table = pa.Table.from_batches(self.batches)
        self.batches = []
        return table.to_pandas()


def _type_problem(value) -> str:
    """Why a JSONL/Parquet value cannot be a text or a label ("" when it can): a list or an
    object would become a class named after its printout, and true/false is not a name."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple, set)) or getattr(value, "ndim", 0):
        return "a list"
    return ""


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    return str(value).strip()


# Unicode categories that print nothing: controls, format characters (zero-width space,
# joiners, direction marks), separators; a text of only these is empty to a reader.
INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}


def visible(text: str) -> bool:
    import unicodedata

    return any(unicodedata.category(c) not in INVISIBLE for c in text)


def _codepoints(text: str, shown: int = 4) -> str:
    names = [f"U+{ord(c):04X}" for c in text[:shown]]
    return " ".join(names) + (" ..." if len(text) > shown else "")


def _row_error(problem: str, path: Path, where: str, number: int, fix: str) -> InputError:
    if where == "line":
        return InputError(problem, file=str(path), line=number, fix=fix)
    return InputError(f"{where} {number}: {problem}", file=str(path), fix=fix)
