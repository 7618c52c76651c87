"""A KServe InferenceService manifest for an export folder, ready for `kubectl apply -f`.

Three runtimes, chosen by option:
- `nlpfactory` (default): our image as a KServe custom predictor running `nlpfactory serve`
  on the checked int8 ONNX model; KServe V1 and V2 protocols, text in, label names out.
  KServe's storage initializer downloads STORAGE_URI to /mnt/models before it starts.
- `huggingface`: KServe's Hugging Face server on the fp32 PyTorch weights in `huggingface/`
  (written by the export, label names in its config); V1 protocol, text in.
- `triton`: KServe's Triton runtime on the Triton model repository in `triton/`
  (`<name>/config.pbtxt`, `<name>/1/model.onnx`, `<name>/labels.txt`); V2 protocol, token ids
  in, logits out (label names through Triton's classification extension).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

RUNTIMES = ("nlpfactory", "huggingface", "triton")
MANIFEST_FILE = "inferenceservice.yaml"
HF_SUBFOLDER = "huggingface"
TRITON_SUBFOLDER = "triton"
MODEL_MOUNT = "/mnt/models"  # where KServe's storage initializer puts storageUri
PORT = 8080
PLACEHOLDER = "s3://CHANGE-ME"
# Object stores KServe's storage initializer downloads from. KFP's in-cluster MinIO store is
# S3-compatible: its minio:// artifact URIs are read through s3:// (with the S3 endpoint and
# credentials of the service account KServe runs under).
STORE_SCHEMES = {"s3": "s3", "gs": "gs", "minio": "s3", "pvc": "pvc", "hdfs": "hdfs", "webhdfs": "webhdfs"}


def service_name(name: str, domain: str = "") -> str:
    """A Kubernetes resource name (DNS-1035 label) made from a model name and, for a
    per-domain model, its domain (hashed when it has no Latin letters, e.g. 酒店)."""
    slug = _slug(name)
    if not slug or not slug[0].isalpha():
        slug = f"nlpfactory-{slug}".strip("-")
    if domain:
        part = _slug(domain)
        if part != domain:  # letters dropped or lowered: keep two domains apart
            part = f"{part}-{hashlib.sha1(domain.encode()).hexdigest()[:8]}".strip("-")
        slug = f"{slug[:62 - len(part)]}-{part}"
    return slug[:63].rstrip("-")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def storage_uri_of(artifact_uri: str) -> str:
    """The storageUri KServe can read for a pipeline artifact's URI, or "" for a local path
    (a local run cannot know where the folder will be uploaded)."""
    scheme, sep, rest = artifact_uri.partition("://")
    if not sep or scheme not in STORE_SCHEMES:
        return ""
    return f"{STORE_SCHEMES[scheme]}://{rest.rstrip('/')}"


def inference_service(name: str, runtime: str, storage_uri: str, image: str = "") -> dict:
    """The InferenceService resource; `storage_uri` is where the export folder is (or will be)."""
    from nlpfactory.image import IMAGE

    if runtime not in RUNTIMES:
        raise ValueError(f"unknown KServe runtime {runtime!r}; choose one of {RUNTIMES}")
    root = storage_uri.rstrip("/")
    resources = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    if runtime == "nlpfactory":
        probe = {"httpGet": {"path": "/v2/health/ready", "port": PORT}}
        predictor = {"containers": [{
            "name": "kserve-container",  # the name KServe looks for in a custom predictor
            "image": image or IMAGE,
            "command": ["nlpfactory"],
            "args": ["serve", MODEL_MOUNT, "--host", "0.0.0.0", "--port", str(PORT), "--model-name", name],
            "env": [{"name": "STORAGE_URI", "value": root}],
            "ports": [{"containerPort": PORT, "protocol": "TCP"}],
            "readinessProbe": probe,
            "resources": resources,
        }]}
    elif runtime == "huggingface":
        predictor = {"model": {
            "modelFormat": {"name": "huggingface"},
            "args": [f"--model_name={name}", "--task=sequence_classification",
                     "--backend=huggingface", "--return_probabilities"],
            "storageUri": f"{root}/{HF_SUBFOLDER}",
            "resources": resources,
        }}
    else:
        predictor = {"model": {"modelFormat": {"name": "onnx"}, "runtime": "kserve-tritonserver",
                               "protocolVersion": "v2", "storageUri": f"{root}/{TRITON_SUBFOLDER}",
                               "resources": resources}}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/created-by": "nlpfactory"}},
        "spec": {"predictor": predictor},
    }


def write_triton_repository(export_dir: Path, name: str, onnx_model: Path, input_names, labels: list[str]) -> Path:
    """`triton/<name>/{config.pbtxt, labels.txt, 1/model.onnx}`, the layout Triton loads."""
    import shutil

    folder = export_dir / TRITON_SUBFOLDER / name
    (folder / "1").mkdir(parents=True)
    shutil.copy2(onnx_model, folder / "1" / "model.onnx")
    (folder / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    inputs = ",\n".join(f'  {{ name: "{n}" data_type: TYPE_INT64 dims: [ -1, -1 ] }}' for n in input_names)
    (folder / "config.pbtxt").write_text(
        f'name: "{name}"\nbackend: "onnxruntime"\nmax_batch_size: 0\n'
        f"input [\n{inputs}\n]\n"
        f'output [\n  {{ name: "logits" data_type: TYPE_FP32 dims: [ -1, {len(labels)} ] '
        f'label_filename: "labels.txt" }}\n]\n', encoding="utf-8")
    return folder


def write_manifest(export_dir: str | Path, name: str, runtime: str, storage_uri: str = "") -> Path:
    """Write inferenceservice.yaml into the export folder and return its path."""
    import yaml

    uri = storage_uri or f"{PLACEHOLDER}/{name}"
    header = [f"# KServe InferenceService written by `nlpfactory export` (runtime: {runtime}).",
              f"# The export folder is read from {uri}. Deploy: kubectl apply -f {MANIFEST_FILE}"]
    if not storage_uri:
        header.append(f"# {PLACEHOLDER} is a placeholder (this export ran outside a cluster, so its "
                      "upload location is unknown): upload the folder and set it, or export with --storage-uri.")
    header.append({
        "nlpfactory": "# Clients: POST /v2/models/NAME/infer (BYTES input `text`) or /v1/models/NAME:predict "
                      "({\"instances\": [\"...\"]}); answers carry label names. Int8 ONNX model.",
        "huggingface": "# Serves the fp32 PyTorch weights with KServe's Hugging Face server (V1 protocol), which "
                       "answers with class indices: their names are id2label in huggingface/config.json. "
                       "The nlpfactory runtime serves the checked int8 ONNX model with label names.",
        "triton": "# Triton takes token ids (tokenize with tokenizer.json in this folder) and returns logits; "
                  "ask for label names with the classification parameter on the `logits` output.",
    }[runtime])
    text = "\n".join(header) + "\n" + yaml.safe_dump(inference_service(name, runtime, uri), sort_keys=False,
                                                      allow_unicode=True)
    path = Path(export_dir) / MANIFEST_FILE
    path.write_text(text, encoding="utf-8")
    return path
