"""Which teacher layer each student layer learns from.

Layers are numbered as in METHODS.md: 0 is the embedding output, 1..L the transformer layers.
The map always pairs the embeddings (0 -> 0); `uniform` pairs student layer m with teacher
layer m·L_T/L_S, so the student's last layer learns from the teacher's last.
"""

from __future__ import annotations

from nlpfactory.errors import InputError


def uniform_map(student_layers: int, teacher_layers: int) -> dict[int, int]:
    if teacher_layers % student_layers:
        step = teacher_layers / student_layers
        return {m: round(m * step) for m in range(student_layers + 1)}
    step = teacher_layers // student_layers
    return {m: m * step for m in range(student_layers + 1)}


def layer_map(spec: str, student_layers: int, teacher_layers: int) -> dict[int, int]:
    """`uniform`, or explicit pairs `student:teacher` such as `1:2,2:4` (every student layer
    1..L_S once; the embeddings are paired 0:0 unless the pairs say otherwise)."""
    if spec.strip() in ("", "uniform"):
        return uniform_map(student_layers, teacher_layers)
    pairs = {0: 0}
    try:
        for item in spec.split(","):
            s, t = item.split(":")
            pairs[int(s)] = int(t)
    except ValueError:
        raise InputError(f"cannot read the layer map {spec!r}", column="layer_map",
                         fix="write uniform, or student:teacher pairs such as 1:2,2:4") from None
    wanted = set(range(student_layers + 1))
    if set(pairs) != wanted or not all(0 <= t <= teacher_layers for t in pairs.values()):
        raise InputError(
            f"the layer map {spec!r} must name each student layer 1..{student_layers} once, "
            f"with teacher layers in 0..{teacher_layers}", column="layer_map",
            fix=f"for example uniform, or {','.join(f'{m}:{t}' for m, t in uniform_map(student_layers, teacher_layers).items() if m)}",
        )
    return pairs
