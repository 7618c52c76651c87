"""Easy data augmentation for Chinese, without a synonym dictionary.

Word operations act on jieba words, character operations on single characters; spaces and
punctuation are never chosen, so sentence structure marks stay where they were. Insertion
copies a word (or character) that is already in the same row to a random place: EDA inserts
a synonym, but no Chinese synonym list ships with our dependencies, and a word from the row
itself cannot bring in vocabulary from another topic.

Each function takes the text, the share of units to change and a seeded `random.Random`,
and changes at least one unit when there is something to change. None of them empties a
text: deletions keep at least one content unit.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from nlpfactory.augment.words import is_content, words


def _count(ratio: float, available: int) -> int:
    return max(1, round(ratio * available))


def _swap(units: list[str], ratio: float, rng: random.Random) -> list[str]:
    content = [i for i, u in enumerate(units) if is_content(u)]
    if len(content) < 2:
        return units
    units = list(units)
    for _ in range(_count(ratio, len(content))):
        a, b = rng.sample(content, 2)
        units[a], units[b] = units[b], units[a]
    return units


def _delete(units: list[str], ratio: float, rng: random.Random) -> list[str]:
    content = [i for i, u in enumerate(units) if is_content(u)]
    if len(content) < 2:
        return units
    drop = set(rng.sample(content, min(_count(ratio, len(content)), len(content) - 1)))
    return [u for i, u in enumerate(units) if i not in drop]


def _insert(units: list[str], ratio: float, rng: random.Random) -> list[str]:
    content = [u for u in units if is_content(u)]
    if not content:
        return units
    units = list(units)
    for _ in range(_count(ratio, len(content))):
        units.insert(rng.randint(0, len(units)), rng.choice(content))
    return units


def _on(units: Callable[[str], list[str]], edit: Callable) -> Callable[[str, float, random.Random], str]:
    """An operation on text: `edit` applied to the units (words or characters) it is cut into."""

    def operation(text: str, ratio: float, rng: random.Random) -> str:
        return "".join(edit(units(text), ratio, rng))

    return operation


# word_swap, word_delete, word_insert, char_swap, char_delete, char_insert (this order: a seed
# draws the same operations as before).
OPERATIONS: dict[str, Callable[[str, float, random.Random], str]] = {
    f"{unit}_{name}": _on(units, edit)
    for unit, units in (("word", words), ("char", list))
    for name, edit in (("swap", _swap), ("delete", _delete), ("insert", _insert))
}


def eda(text: str, ratio: float, rng: random.Random, operations: Sequence[str] = tuple(OPERATIONS)) -> str:
    """One augmented copy of `text`: an operation drawn at random from `operations`."""
    return OPERATIONS[rng.choice(list(operations))](text, ratio, rng)
