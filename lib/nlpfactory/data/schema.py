"""EasyNLP-style schema strings: `name:type:count` entries separated by commas.

`text:str:1,label:str:1` names the columns of a headerless file in order (type is str, int
or float; count is how many values the column holds, 1 for text and labels).
"""

from __future__ import annotations

import dataclasses

from nlpfactory.errors import InputError

TYPES = ("str", "int", "float")
FORM = ("name:type:count entries separated by commas, e.g. text:str:1,label:str:1 "
        f"(type is one of {', '.join(TYPES)}; count is a whole number, 1 for text and labels)")


@dataclasses.dataclass(frozen=True)
class SchemaField:
    name: str
    type: str = "str"
    count: int = 1


def parse_schema(text: str) -> list[SchemaField]:
    """Parse a schema string; an empty string means "no schema" (the file has a header)."""
    if not text.strip():
        return []
    fields: list[SchemaField] = []
    for entry in text.split(","):
        field = _parse_entry(entry.strip())
        if field is None:
            raise InputError(f"the schema entry {entry.strip()!r} in {text!r} does not parse",
                             column="schema", fix=f"write the schema as {FORM}")
        if field.name in {f.name for f in fields}:
            raise InputError(f"the schema {text!r} names the column {field.name!r} twice",
                             column="schema", fix="give every column its own name")
        fields.append(field)
    return fields


def _parse_entry(entry: str) -> SchemaField | None:
    parts = [p.strip() for p in entry.split(":")]
    if len(parts) != 3 or not parts[0] or parts[1] not in TYPES:
        return None
    if not parts[2].isdigit() or int(parts[2]) < 1:
        return None
    return SchemaField(parts[0], parts[1], int(parts[2]))


def format_schema(fields: list[SchemaField]) -> str:
    return ",".join(f"{f.name}:{f.type}:{f.count}" for f in fields)
