"""A KServe InferenceService manifest for an export folder, ready for `kubectl apply -f`.

Two runtimes, chosen by option:
- `huggingface`: KServe's Hugging Face server loads the PyTorch weights in `huggingface/`
  (written by the export) and tokenizes on the server; clients send text (V1 protocol).
- `onnx`: KServe's ONNX format (served by Triton, Open Inference Protocol v2) loads
  `model.onnx` from the export folder; clients send token ids and get logits back.
"""

from __future__ import annotations

import re
from pathlib import Path

RUNTIMES = ("huggingface", "onnx")
MANIFEST_FILE = "inferenceservice.yaml"
HF_SUBFOLDER = "huggingface"


def service_name(name: str) -> str:
    """A Kubernetes resource name (DNS-1035 label) made from a model name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"nlpfactory-{slug}".strip("-")
    return slug[:63].rstrip("-")


def inference_service(name: str, runtime: str, storage_uri: str) -> dict:
    """The InferenceService resource; `storage_uri` is where the export folder is uploaded."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown KServe runtime {runtime!r}; choose one of {RUNTIMES}")
    name = service_name(name)
    resources = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    if runtime == "huggingface":
        model = {
            "modelFormat": {"name": "huggingface"},
            "args": [f"--model_name={name}", "--task=sequence_classification",
                     "--backend=huggingface", "--return_probabilities"],
            "storageUri": f"{storage_uri.rstrip('/')}/{HF_SUBFOLDER}",
            "resources": resources,
        }
    else:
        model = {"modelFormat": {"name": "onnx"}, "protocolVersion": "v2",
                 "storageUri": storage_uri, "resources": resources}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/created-by": "nlpfactory"}},
        "spec": {"predictor": {"model": model}},
    }


def write_manifest(export_dir: str | Path, name: str, runtime: str, storage_uri: str = "") -> Path:
    """Write inferenceservice.yaml into the export folder and return its path."""
    import yaml

    placeholder = not storage_uri
    uri = storage_uri or f"s3://CHANGE-ME/{service_name(name)}"
    header = [
        "# KServe InferenceService written by `nlpfactory export`.",
        f"# Runtime: {runtime}. Upload this export folder to {uri}, then: kubectl apply -f {MANIFEST_FILE}",
    ]
    if placeholder:
        header.append("# storageUri is a placeholder: set it (or export with --storage-uri) before applying.")
    if runtime == "onnx":
        header.append("# The ONNX runtime takes token ids (input_ids, attention_mask, token_type_ids) and "
                      "returns logits; tokenize with the tokenizer.json in this folder.")
    text = "\n".join(header) + "\n" + yaml.safe_dump(inference_service(name, runtime, uri), sort_keys=False,
                                                      allow_unicode=True)
    path = Path(export_dir) / MANIFEST_FILE
    path.write_text(text, encoding="utf-8")
    return path
