"""The three request shapes `nlpfactory serve` answers, turned into texts and back.

- simple:  {"texts": [...], "texts_b": [...]?} -> {"predictions": [{"label", "probabilities"}]}
- KServe V1 (`/v1/models/NAME:predict`): {"instances": ["text", ...]} or
  {"instances": [{"text": ..., "text_b": ...}, ...]} -> {"predictions": [{"label", "probabilities"}]}
- Open Inference Protocol V2 (`/v2/models/NAME/infer`): an input tensor named `text` (and
  `text_b` for pair models), datatype BYTES, shape [N], data as UTF-8 strings -> two output
  tensors: `label` (BYTES, [N], label names) and `probabilities` (FP32, [N, labels], label-id
  order), the subset named in "outputs" when the request names some. A tagger answers
  `tags` (BYTES, [N]: each text's tags, one per character, joined by spaces) and `entities`
  (BYTES, [N]: each text's spans as a JSON array of {"start", "end", "type", "text"}), since a
  tensor cannot hold rows of different lengths.

Each parser raises BadRequest with the field at fault; nothing here knows about HTTP.
"""

from __future__ import annotations

import json

import numpy as np

V2_OUTPUTS = ("label", "probabilities")
V2_TAGGER_OUTPUTS = ("tags", "entities")


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def check_texts(values, field: str, max_batch: int) -> list[str]:
    """A non-empty list of at most max_batch non-blank strings."""
    if not isinstance(values, list):
        raise BadRequest(422, f'"{field}" must be a list of strings')
    if not values:
        raise BadRequest(422, f'"{field}" is empty; send at least one text')
    if len(values) > max_batch:
        raise BadRequest(413, f'"{field}" has {len(values)} texts; at most {max_batch} per request')
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise BadRequest(422, f'"{field}"[{i}] is {type(value).__name__}, not a string')
        # Zero-width and control characters are not printable: a text of only those is empty.
        if not any(ch.isprintable() and not ch.isspace() for ch in value):
            raise BadRequest(422, f'"{field}"[{i}] is empty; every text needs some visible characters')
    return values


def _object(payload, example: str) -> dict:
    if not isinstance(payload, dict):
        raise BadRequest(422, f"the body must be a JSON object such as {example}")
    return payload


def _same_length(texts: list[str], texts_b: list[str] | None, field_b: str, field: str) -> None:
    if texts_b is not None and len(texts_b) != len(texts):
        raise BadRequest(422, f'"{field_b}" has {len(texts_b)} items but "{field}" has {len(texts)}; give one per text')


def simple_request(payload, pair: bool, max_batch: int) -> tuple[list[str], list[str] | None]:
    payload = _object(payload, '{"texts": ["..."]}')
    if "texts" not in payload:
        raise BadRequest(422, 'missing field "texts": send {"texts": ["...", ...]}')
    texts = check_texts(payload["texts"], "texts", max_batch)
    texts_b = None
    if pair and "texts_b" not in payload:
        raise BadRequest(422, 'missing field "texts_b": this pair model needs {"texts_b": ["...", ...]}')
    if "texts_b" in payload:
        texts_b = check_texts(payload["texts_b"], "texts_b", max_batch)
    _same_length(texts, texts_b, "texts_b", "texts")
    return texts, texts_b


def v1_request(payload, pair: bool, max_batch: int) -> tuple[list[str], list[str] | None]:
    example = '{"instances": ["..."]}' if not pair else '{"instances": [{"text": "...", "text_b": "..."}]}'
    payload = _object(payload, example)
    if "instances" not in payload:
        raise BadRequest(422, f'missing field "instances": send {example}')
    instances = payload["instances"]
    if isinstance(instances, list) and instances and all(isinstance(i, dict) for i in instances):
        texts = check_texts([i.get("text") for i in instances], "instances[].text", max_batch)
        if not pair:
            return texts, None
        return texts, check_texts([i.get("text_b") for i in instances], "instances[].text_b", max_batch)
    if pair:
        raise BadRequest(422, f'this pair model needs objects with "text" and "text_b": send {example}')
    return check_texts(instances, "instances", max_batch), None


def predictions(labels: list[str], probs: np.ndarray) -> list[dict]:
    """One {"label", "probabilities": {label: p}} per row (simple and V1 answers)."""
    return [{"label": labels[int(row.argmax())],
             "probabilities": {label: round(float(p), 6) for label, p in zip(labels, row, strict=True)}}
            for row in probs]


def _v2_strings(tensor, max_batch: int) -> list[str]:
    name = tensor.get("name")
    if tensor.get("datatype") != "BYTES":
        raise BadRequest(400, f'input "{name}" has datatype {tensor.get("datatype")!r}; text inputs are BYTES')
    shape, data = tensor.get("shape"), tensor.get("data")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise BadRequest(400, f'input "{name}" needs "shape", a list of integers such as [2]')
    if not isinstance(data, list):
        raise BadRequest(400, f'input "{name}" needs "data", a list of strings')
    # The protocol allows the data nested by shape or flat in row-major order.
    while data and all(isinstance(d, list) for d in data):
        data = [x for row in data for x in row]
    if int(np.prod(shape)) != len(data):
        raise BadRequest(400, f'input "{name}" has shape {shape} but {len(data)} data elements')
    return check_texts(data, f"{name}.data", max_batch)


def v2_request(payload, pair: bool, max_batch: int, known_outputs: tuple[str, ...] = V2_OUTPUTS
               ) -> tuple[list[str], list[str] | None, list[str], str | None]:
    """(texts, texts_b, names of the outputs to return, the request's id)."""
    payload = _object(payload, '{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["..."]}]}')
    inputs = payload.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(t, dict) for t in inputs):
        raise BadRequest(400, '"inputs" must be a list of tensors such as '
                              '{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["..."]}')
    by_name = {t.get("name"): t for t in inputs}
    wanted = ["text", "text_b"] if pair else ["text"]
    unknown = sorted(set(map(str, by_name)) - set(wanted))
    if unknown:
        raise BadRequest(400, f"unknown input {unknown[0]!r}; this model takes {' and '.join(wanted)}")
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise BadRequest(400, f'missing input "{missing[0]}" (datatype BYTES, shape [N])')
    texts = _v2_strings(by_name["text"], max_batch)
    texts_b = _v2_strings(by_name["text_b"], max_batch) if pair else None
    _same_length(texts, texts_b, "text_b", "text")
    request_id = None if payload.get("id") is None else str(payload["id"])
    outputs = payload.get("outputs")
    if outputs is None:
        return texts, texts_b, list(known_outputs), request_id
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise BadRequest(400, f'"outputs" must be a list such as [{{"name": "{known_outputs[0]}"}}]')
    names = [o.get("name") for o in outputs]
    for name in names:
        if name not in known_outputs:
            raise BadRequest(400, f"unknown output {name!r}; this model has {' and '.join(known_outputs)}")
    return texts, texts_b, names, request_id


def v2_response(model_name: str, labels: list[str], probs: np.ndarray, outputs: list[str],
                request_id: str | None) -> dict:
    tensors = {
        "label": {"name": "label", "datatype": "BYTES", "shape": [len(probs)],
                  "data": [labels[int(i)] for i in probs.argmax(axis=1)]},
        "probabilities": {"name": "probabilities", "datatype": "FP32", "shape": list(probs.shape),
                          "data": [round(float(p), 6) for p in probs.ravel()]},
    }
    return _v2_body(model_name, [tensors[name] for name in outputs], request_id)


def v2_tagger_response(model_name: str, answers: list[dict], outputs: list[str], request_id: str | None) -> dict:
    """`answers` are a tagger's {"tags", "entities"} per text."""
    tensors = {
        "tags": {"name": "tags", "datatype": "BYTES", "shape": [len(answers)],
                 "data": [" ".join(a["tags"]) for a in answers]},
        "entities": {"name": "entities", "datatype": "BYTES", "shape": [len(answers)],
                     "data": [json.dumps(a["entities"], ensure_ascii=False) for a in answers]},
    }
    return _v2_body(model_name, [tensors[name] for name in outputs], request_id)


def _v2_body(model_name: str, tensors: list[dict], request_id: str | None) -> dict:
    body = {"model_name": model_name, "outputs": tensors}
    if request_id is not None:
        body["id"] = request_id
    return body


def v2_metadata(model_name: str, labels: list[str], pair: bool, platform: str, tagger: bool = False) -> dict:
    inputs = [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    if pair:
        inputs.append({"name": "text_b", "datatype": "BYTES", "shape": [-1]})
    outputs = [{"name": "tags", "datatype": "BYTES", "shape": [-1]},
               {"name": "entities", "datatype": "BYTES", "shape": [-1]}] if tagger else \
        [{"name": "label", "datatype": "BYTES", "shape": [-1]},
         {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(labels)]}]
    return {"name": model_name, "versions": ["1"], "platform": platform, "inputs": inputs,
            "outputs": outputs, "parameters": {"labels": labels}}
