"""Tag schemes. BIO is the one the factory keeps; BMES (B/M/E/S) and BIOES (B/I/E/S) are read
and written by way of entity spans, so a conversion is exact for every legal sequence.

A span is (start, end, type) over character positions, `end` exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence

SCHEMES = ("bio", "bmes", "bioes")
INSIDE = {"bio": "I", "bmes": "M", "bioes": "I"}
OUTSIDE = "O"

Span = tuple[int, int, str]


class TagError(ValueError):
    """A tag sequence that breaks its scheme; `position` is the 0-based character index."""

    def __init__(self, position: int, problem: str, fix: str):
        self.position, self.problem, self.fix = position, problem, fix
        super().__init__(f"character {position + 1}: {problem}")


def split_tag(tag: str) -> tuple[str, str]:
    """'B-PER' -> ('B', 'PER'); 'O' -> ('O', '')."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, sep, kind = tag.partition("-")
    if not sep or not kind or len(prefix) != 1:
        raise TagError(0, f"tag {tag!r} is not O nor PREFIX-TYPE (e.g. B-PER)",
                       "write tags as O, B-TYPE, I-TYPE (or M-, E-, S- in BMES/BIOES)")
    return prefix, kind


def detect_scheme(tags: Sequence[str]) -> str:
    """bmes when an M- tag occurs, bioes when E- or S- does, else bio."""
    prefixes = {t[:2] for t in tags if t != OUTSIDE}
    if "M-" in prefixes:
        return "bmes"
    if prefixes & {"E-", "S-"}:
        return "bioes"
    return "bio"


def to_spans(tags: Sequence[str], scheme: str = "bio", types: Sequence[str] | None = None) -> list[Span]:
    """The entities of a legal sequence; a TagError at the first tag that breaks the scheme
    (an unknown prefix or type, an inside tag that continues nothing or another type, or in
    BMES/BIOES an entity left open)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; use one of {SCHEMES}")
    closes = scheme != "bio"  # BMES/BIOES end every entity explicitly with E- or S-
    allowed = {"O", "B", INSIDE[scheme]} | ({"E", "S"} if closes else set())
    spans: list[Span] = []
    open_start, open_type = None, ""
    for i, tag in enumerate(tags):
        try:
            prefix, kind = split_tag(tag)
        except TagError as err:
            raise TagError(i, err.problem, err.fix) from None
        if prefix not in allowed or (types is not None and kind and kind not in types):
            raise TagError(i, f"unknown tag {tag!r} for the {scheme.upper()} scheme"
                              + (f" and the types {', '.join(types)}" if types is not None else ""),
                           f"use only {', '.join(sorted(allowed))} prefixes"
                           + (f" with the types {', '.join(types)}" if types is not None else ""))
        previous = tags[i - 1] if i else "the sentence start"
        if prefix in ("O", "B", "S") and open_start is not None:
            if closes:
                raise TagError(i, f"illegal transition: {tag} after {previous} (the {open_type} "
                                  f"entity is never closed)", f"end it with E-{open_type}")
            spans.append((open_start, i, open_type))
            open_start = None
        if prefix == "B":
            open_start, open_type = i, kind
        elif prefix == "S":
            spans.append((i, i + 1, kind))
        elif prefix in ("I", "M", "E"):
            if open_start is None or open_type != kind:
                raise TagError(i, f"illegal transition: {tag} after {previous}",
                               f"start the entity with B-{kind}, or fix the tag before it")
            if prefix == "E":
                spans.append((open_start, i + 1, kind))
                open_start = None
    if open_start is not None:
        if closes:
            raise TagError(len(tags) - 1, f"the {open_type} entity starting at character "
                                          f"{open_start + 1} is never closed", f"end it with E-{open_type}")
        spans.append((open_start, len(tags), open_type))
    return spans


def from_spans(spans: Sequence[Span], length: int, scheme: str = "bio") -> list[str]:
    tags = [OUTSIDE] * length
    inside = INSIDE[scheme]
    for start, end, kind in spans:
        if scheme != "bio" and end - start == 1:
            tags[start] = f"S-{kind}"
            continue
        tags[start] = f"B-{kind}"
        for i in range(start + 1, end):
            tags[i] = f"{inside}-{kind}"
        if scheme != "bio":
            tags[end - 1] = f"E-{kind}"
    return tags


def convert(tags: Sequence[str], source: str, target: str = "bio") -> list[str]:
    return from_spans(to_spans(tags, source), len(tags), target)


def repair_bio(tags: Sequence[str]) -> list[str]:
    """A model's BIO output made legal the usual way: an inside tag that continues nothing
    (or another type) starts a new entity of its own type."""
    fixed = []
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and not (i and fixed[i - 1] != OUTSIDE and fixed[i - 1][2:] == tag[2:]):
            tag = "B-" + tag[2:]
        fixed.append(tag)
    return fixed


def tag_names(types: Sequence[str]) -> list[str]:
    """The BIO tag set in id order: O, then B-/I- for each type in the given order."""
    return [OUTSIDE] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def entity_types(tag_list: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t[2:] for t in tag_list if t != OUTSIDE))
