"""Read character-level tagged data in its two common shapes, check it, and return it in BIO.

- a table (TSV, CSV, JSONL, Parquet) with a `text` column and a `tags` column holding one
  space-separated tag per character of the text;
- CoNLL: one "character TAG" per line, a blank line between sentences (`.conll`, `.bio`,
  `.bmes`, `.bioes` files, any file whose first line has that shape, or `format="conll"`).

The scheme (BIO, BMES or BIOES) is detected from the tags unless given. Every problem —
a tag count that differs from the character count, an illegal transition, an unknown tag, an
empty sentence — is an InputError naming the file and the line, raised before anything is
written.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

# The table reader's line decoding, so both shapes follow one set of rules (encodings, line ends).
from nlpfactory.data.readers import _codec, decoded_lines, open_table
from nlpfactory.errors import InputError
from nlpfactory.ner.tags import TagError, convert, detect_scheme, to_spans

CONLL_SUFFIXES = (".conll", ".bio", ".bmes", ".bioes")
FORMATS = ("", "table", "conll")
_CONLL_LINE = re.compile(r"^\S\s+(O|[A-Za-z]-\S+)\s*$")


def is_conll(path: str | Path, encoding: str = "utf-8") -> bool:
    path = Path(path)
    if path.suffix.lower() in CONLL_SUFFIXES:
        return True
    if path.suffix.lower() in (".parquet", ".pq", ".jsonl", ".ndjson", ".csv"):
        return False
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False  # not recognisable; the table reader reports the encoding itself
    with open(path, encoding=encoding, errors="replace") as f:
        for line in f:
            if line.strip():
                return bool(_CONLL_LINE.match(line.strip()))
    return False


def read_tagged(path: str | Path, *, format: str = "", text_col: str = "text", tags_col: str = "tags",
                scheme: str = "", types: Sequence[str] | None = None, schema: str = "",
                encoding: str = "utf-8", domain_col: str = "") -> pd.DataFrame:
    """Columns `text` and `tags` (a list of BIO tags, one per character), and `domain` when a
    table names its domain column."""
    if format not in FORMATS:
        raise InputError(f"unknown format {format!r}", column="format",
                         fix="use conll, table, or leave it empty to recognise the shape")
    path = Path(path)
    if not path.is_file():
        raise InputError("the file does not exist", file=str(path), fix="check the path")
    if format == "conll" or (format == "" and is_conll(path, encoding)):
        if domain_col:
            raise InputError("CoNLL lines carry no domain column", file=str(path), column="domain_col",
                             fix="give a table with text, tags and domain columns, or leave --domain-col empty")
        return to_bio(read_conll_sentences(path, encoding), str(path), scheme, types)
    sentences, domains = _table_sentences(path, text_col, tags_col, schema, encoding, domain_col)
    frame = to_bio(sentences, str(path), scheme, types)
    return frame.assign(domain=domains) if domain_col else frame


def read_conll_sentences(path: Path, encoding: str = "utf-8") -> list[tuple[str, list[str], list[int]]]:
    """(text, tags, the line of each character) per sentence; blank lines separate sentences."""
    sentences, chars, tags, lines = [], [], [], []
    for number, raw in decoded_lines(path, _codec(encoding)):
        line = raw.strip()
        if not line:
            if chars:
                sentences.append(("".join(chars), tags, lines))
                chars, tags, lines = [], [], []
            continue
        fields = line.split()
        if len(fields) != 2 or len(fields[0]) != 1:
            raise InputError(f"expected one character and its tag, found {line!r}", file=str(path),
                             line=number, fix="write 'character TAG' per line, a blank line between sentences")
        chars.append(fields[0])
        tags.append(fields[1])
        lines.append(number)
    if chars:
        sentences.append(("".join(chars), tags, lines))
    if not sentences:
        raise InputError("the file holds no sentences", file=str(path), fix="point at a file with tagged sentences")
    return sentences


def _table_sentences(path: Path, text_col: str, tags_col: str, schema: str, encoding: str,
                     domain_col: str = "") -> tuple[list[tuple[str, list[str], list[int]]], list[str]]:
    """The sentences, and each one's domain (empty without a domain column)."""
    table = open_table(path, encoding=encoding, schema=schema)
    wanted = ((text_col, "--text-col"), (tags_col, "--tags-col")) + (((domain_col, "--domain-col"),) if domain_col else ())
    for column, option in wanted:
        if column not in table.columns:
            raise InputError(f"the file has no column {column!r} (its columns: {', '.join(map(str, table.columns))})",
                             file=str(path), column=column, fix=f"set {option} to one of its columns")
    out, domains = [], []
    for number, record in table.rows:
        text = _cell(record.get(text_col))
        line = number if table.where == "line" else -number  # negative: a Parquet row number
        out.append((text, _cell(record.get(tags_col)).split(), [line] * max(len(text), 1)))
        if domain_col:
            domains.append(_cell(record.get(domain_col)))
            if not domains[-1]:
                raise InputError("the row has no domain", file=str(path), **({"column": domain_col} | _where(line)),
                                 fix="give every row a domain, or leave --domain-col empty")
    return out, domains


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    return str(value).strip()


def to_bio(sentences, file: str, scheme: str = "", types: Sequence[str] | None = None) -> pd.DataFrame:
    """Check every sentence against one scheme (detected over the whole file unless given)
    and convert it to BIO."""
    scheme = scheme or detect_scheme([t for _, tags, _ in sentences for t in tags])
    texts, bio = [], []
    for text, tags, lines in sentences:
        where = _where(lines[0] if lines else None)
        if not text:
            raise InputError("empty sentence", file=file, **where, fix="delete the row or fill it in")
        if len(tags) != len(text):
            raise InputError(f"{len(tags)} tags for {len(text)} characters in {text[:20]!r}", file=file,
                             **where, fix="give exactly one tag per character (spaces count as characters)")
        try:
            to_spans(tags, scheme, types)
        except TagError as err:
            raise InputError(f"{err.problem} (character {err.position + 1}, {text[err.position]!r})",
                             file=file, **_where(lines[err.position]), fix=err.fix) from None
        texts.append(text)
        bio.append(convert(tags, scheme, "bio"))
    return pd.DataFrame({"text": texts, "tags": bio})


def _where(line: int | None) -> dict:
    if line is None or line == -1:
        return {}
    return {"line": line} if line > 0 else {"column": f"row {-line}"}
