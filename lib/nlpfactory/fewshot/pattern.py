"""Turn texts into prompted token rows: the pattern's words, the input text cut to fit, mask
slots and placeholders where trainable prompt vectors go.

Pieces are tokenized apart and joined, so a long text is cut while the pattern, the masks and
the prompt placeholders always survive, and their positions are known exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from nlpfactory.errors import InputError
from nlpfactory.fewshot.config import SLOT, check_pattern


@dataclasses.dataclass
class PromptLayout:
    """What a prompted input looks like; travels in nlpfactory.json so prediction rebuilds it."""

    pattern: str  # slots: {text}, {text_b}, {mask}, {prompt}; a {sep} starts the second segment
    mask_count: int = 1  # [MASK] tokens in the {mask} slot
    prompt_length: int = 0  # prompt placeholders, shared out over the {prompt} slots

    @property
    def is_pair(self) -> bool:
        return "{text_b}" in self.pattern


def pieces(pattern: str) -> list[tuple[str, str]]:
    """("literal", words) and ("slot", name) in order."""
    out, start = [], 0
    for match in SLOT.finditer(pattern):
        if match.start() > start:
            out.append(("literal", pattern[start:match.start()]))
        out.append(("slot", match.group(1)))
        start = match.end()
    if start < len(pattern):
        out.append(("literal", pattern[start:]))
    return out


def ptuning_pattern(pattern: str) -> str:
    """A pattern without {prompt} slots gets pseudo tokens at its start and before the mask,
    the P-Tuning template [P..] x [P..] [MASK], keeping the pattern's own words as anchors."""
    if "{prompt}" in pattern:
        return pattern
    return "{prompt}" + pattern.replace("{mask}", "{prompt}{mask}")


def cptuning_pattern(pair: bool) -> str:
    """CP-Tuning's fixed input: [CLS] text [PRO].. [OMSK] [SEP] (pairs: a [SEP] b [PRO].. [OMSK])."""
    return "{text}{sep}{text_b}{prompt}{mask}" if pair else "{text}{prompt}{mask}"


def check_inputs(layout: PromptLayout, texts_b) -> None:
    if layout.is_pair and texts_b is None:
        raise InputError(f"the pattern {layout.pattern!r} has a {{text_b}} slot but no second texts were given",
                         column="text_b", fix="give pairs (text and text_b), or use a pattern without {text_b}")
    if texts_b is not None and not layout.is_pair:
        raise InputError(f"the data has pairs (text_b) but the pattern {layout.pattern!r} has no {{text_b}} slot",
                         column="pattern", fix="add {text_b} to the pattern, e.g. {text}？{mask}，{text_b}")


def build_rows(tokenizer, layout: PromptLayout, texts: Sequence[str],
               texts_b: Sequence[str] | None = None, max_length: int = 128) -> list[dict]:
    """Rows of input_ids, token_type_ids, mask_positions (mask_count each) and, with prompts,
    prompt_positions (prompt_length each; their ids are [PAD], replaced by vectors later)."""
    check_pattern(layout.pattern)
    check_inputs(layout, texts_b)
    parts = pieces(layout.pattern)
    words = {p: _ids(tokenizer, [p])[0] for kind, p in parts if kind == "literal"}
    inputs = {"text": _ids(tokenizer, texts)}
    if layout.is_pair:
        inputs["text_b"] = _ids(tokenizer, texts_b)
    prompt_slots = [name for kind, name in parts if kind == "slot"].count("prompt")
    share = [layout.prompt_length // prompt_slots + (i < layout.prompt_length % prompt_slots)
             for i in range(prompt_slots)] if prompt_slots else []
    if layout.prompt_length and not prompt_slots:
        raise InputError(f"the pattern {layout.pattern!r} has no {{prompt}} slot for {layout.prompt_length} prompt tokens",
                         column="pattern", fix="add {prompt} where the prompt tokens go")
    fixed = 2 + sum(len(w) for w in words.values()) + layout.mask_count + layout.prompt_length + \
        layout.pattern.count("{sep}")
    budget = max_length - fixed
    if budget < 1:
        raise InputError(f"max_length {max_length} leaves no room for the text after the pattern's {fixed} tokens",
                         column="max_length", fix=f"raise max_length above {fixed}")
    rows = []
    for i in range(len(texts)):
        own = _fit({name: list(ids[i]) for name, ids in inputs.items()}, budget)
        rows.append(_assemble(tokenizer, parts, words, own, share, layout.mask_count))
    return rows


def _ids(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    return tokenizer([str(t) for t in texts], add_special_tokens=False)["input_ids"]


def _fit(inputs: dict[str, list[int]], budget: int) -> dict[str, list[int]]:
    """Cut the longest input from its end until they all fit."""
    while sum(len(v) for v in inputs.values()) > budget:
        longest = max(inputs, key=lambda k: len(inputs[k]))
        inputs[longest] = inputs[longest][:-1]
    return inputs


def _assemble(tokenizer, parts, words, inputs, share, mask_count) -> dict:
    ids, types, masks, prompts = [tokenizer.cls_token_id], [0], [], []
    segment, prompt_slot = 0, 0

    def put(new: list[int]) -> None:
        ids.extend(new)
        types.extend([segment] * len(new))

    for kind, name in parts:
        if kind == "literal":
            put(words[name])
        elif name in ("text", "text_b"):
            put(inputs[name])
        elif name == "mask":
            masks.extend(range(len(ids), len(ids) + mask_count))
            put([tokenizer.mask_token_id] * mask_count)
        elif name == "prompt":
            count = share[prompt_slot]
            prompt_slot += 1
            prompts.extend(range(len(ids), len(ids) + count))
            put([tokenizer.pad_token_id] * count)
        elif name == "sep":
            put([tokenizer.sep_token_id])
            segment = 1
    put([tokenizer.sep_token_id])
    row = {"input_ids": ids, "token_type_ids": types, "mask_positions": masks}
    if prompts:
        row["prompt_positions"] = prompts
    return row
