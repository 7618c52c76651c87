"""A stand-in Kubeflow Pipelines API server on 127.0.0.1, for tests of the real kfp.Client.

It answers the v2beta1 REST calls that kfp 2.17's Client makes for
`create_run_from_pipeline_package` (healthz, list/create experiment, create run, get run) and
for `upload_pipeline` / `upload_pipeline_version` (list pipelines by name, multipart upload),
and records what it received so a test can check it.

    with FakeKubeflow() as kubeflow:
        submit(package, kubeflow.url, {...})
        kubeflow.runs[0]["runtime_config"]["parameters"]
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = "/apis/v2beta1"


class FakeKubeflow:
    def __init__(self, *, multi_user: bool = False, run_state: str | list[str] = "SUCCEEDED",
                 failures: dict[str, tuple[int, str]] | None = None, task_states: dict[str, str] | None = None):
        self.multi_user = multi_user
        # What GET /runs/{id} reports per task: display name -> state (none by default).
        self.task_states = dict(task_states or {})
        # What GET /runs/{id} reports; a list is reported one state per call, the last kept.
        self.run_state = run_state
        # "METHOD /path" -> (HTTP status, body): answer that request with an error instead.
        self.failures = dict(failures or {})
        self.experiments: list[dict] = []
        self.runs: list[dict] = []
        self.pipelines: list[dict] = []
        self.versions: list[dict] = []
        self.uploads: list[dict] = []  # query, file name and file text of every upload
        self.requests: list[tuple[str, str, dict]] = []  # method, path, lower-cased headers
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll keeps shutdown (once per test) from costing half a second.
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeKubeflow:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # Each route returns (status, JSON body).
    def answer(self, method: str, path: str, query: dict[str, str], headers: dict, body: bytes):
        self.requests.append((method, path, headers))
        if f"{method} {path}" in self.failures:
            status, message = self.failures[f"{method} {path}"]
            return status, {"error": message, "code": status, "message": message}
        if method == "GET" and path == f"{API}/healthz":
            return 200, {"multi_user": self.multi_user, "pipeline_store": "database"}
        if method == "GET" and path == f"{API}/experiments":
            return 200, _page("experiments", _named(self.experiments, query.get("filter")))
        if method == "POST" and path == f"{API}/experiments":
            experiment = {**json.loads(body), "experiment_id": _new_id(), "storage_state": "AVAILABLE"}
            self.experiments.append(experiment)
            return 200, experiment
        if method == "POST" and path == f"{API}/runs":
            run = {**json.loads(body), "run_id": _new_id(), "state": "PENDING"}
            self.runs.append(run)
            return 200, run
        found = re.fullmatch(f"{API}/runs/([^/:]+)", path)
        if method == "GET" and found:
            for run in self.runs:
                if run["run_id"] == found.group(1):
                    details = {"task_details": [{"display_name": name, "state": state}
                                                for name, state in self.task_states.items()]}
                    return 200, {**run, "state": self._next_state(), "run_details": details}
            return 404, {"error": "run not found", "code": 5, "message": "run not found"}
        if method == "GET" and path == f"{API}/pipelines":
            return 200, _page("pipelines", _named(self.pipelines, query.get("filter")))
        if method == "POST" and path == f"{API}/pipelines/upload":
            return self._upload_pipeline(query, headers, body)
        if method == "POST" and path == f"{API}/pipelines/upload_version":
            return self._upload_version(query, headers, body)
        return 404, {"error": f"{method} {path} is not faked", "code": 5, "message": "not found"}

    def _next_state(self) -> str:
        if isinstance(self.run_state, str):
            return self.run_state
        return self.run_state.pop(0) if len(self.run_state) > 1 else self.run_state[0]

    def _upload_pipeline(self, query, headers, body):
        self._record_upload(query, headers, body)
        pipeline = {"pipeline_id": _new_id(), "display_name": query["name"],
                    "description": query.get("description", "")}
        self.pipelines.append(pipeline)
        return 200, pipeline

    def _upload_version(self, query, headers, body):
        self._record_upload(query, headers, body)
        if not any(p["pipeline_id"] == query.get("pipelineid") for p in self.pipelines):
            return 404, {"error": "pipeline not found", "code": 5, "message": "pipeline not found"}
        version = {"pipeline_version_id": _new_id(), "pipeline_id": query["pipelineid"],
                   "display_name": query["name"], "description": query.get("description", "")}
        self.versions.append(version)
        return 200, version

    def _record_upload(self, query, headers, body):
        name, text = _uploaded_file(headers.get("content-type", ""), body)
        self.uploads.append({"query": query, "filename": name, "text": text})


def _handler_for(fake: FakeKubeflow) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = fake.answer(self.command, url.path, query, headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args):  # keep test output clean
            pass

    return Handler


def _named(items: list[dict], filter_json: str | None) -> list[dict]:
    """Apply kfp's `display_name EQUALS x` filter, the only one the Client sends here."""
    if not filter_json:
        return items
    wanted = {p["key"]: p.get("string_value", p.get("stringValue"))
              for p in json.loads(filter_json)["predicates"]}
    return [i for i in items if all(i.get(k) == v for k, v in wanted.items())]


def _page(key: str, items: list[dict]) -> dict:
    return {key: items, "total_size": len(items)} if items else {"total_size": 0}


def _uploaded_file(content_type: str, body: bytes) -> tuple[str, str]:
    """The `uploadfile` part of a multipart/form-data body: (file name, text)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "uploadfile":
            return part.get_filename(), part.get_payload(decode=True).decode("utf-8")
    raise AssertionError("upload without an `uploadfile` part")


def _new_id() -> str:
    return str(uuid.uuid4())
