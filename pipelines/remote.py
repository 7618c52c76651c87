"""Send a compiled pipeline to Kubeflow Pipelines: run it (`nlpfactory submit`) or upload it.

kfp.Client does the talking. This module picks the host and token, turns `--param k=v`
strings into the types the pipeline declares, and turns a refused connection or an error
answer into a message that names the host and says what to check.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import logging
import os
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nlpfactory.config import parse_value
from nlpfactory.errors import InputError, NlpFactoryError

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "nlpfactory"
PORT_FORWARD = "kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80"
HEALTHZ_PATH = "/apis/v2beta1/healthz"
POD_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
FINAL_STATES = ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELED")
POLL_SECONDS = 5

# KFP's parameter types (pipeline spec IR) -> the Python type a `--param` string becomes,
# and how to say that type to a person.
PARAMETER_TYPES = {
    "STRING": (str, "text"),
    "NUMBER_INTEGER": (int, "a whole number"),
    "NUMBER_DOUBLE": (float, "a number"),
    "BOOLEAN": (bool, "true or false"),
    "LIST": (list, 'a JSON list, e.g. ["a", "b"]'),
    "STRUCT": (dict, 'a JSON object, e.g. {"key": 1}'),
}


class KubeflowError(NlpFactoryError):
    """Kubeflow Pipelines could not be reached, or answered with an error.

    `status` is the HTTP status, or None when no answer came back at all.
    """

    def __init__(self, problem: str, *, host: str, status: int | None = None, fix: str = ""):
        self.host, self.status = host, status
        super().__init__(f"{problem}\n  fix: {fix}" if fix else problem)


@dataclass
class SubmitResult:
    run_id: str
    run_url: str
    experiment_id: str
    state: str | None = None  # the final state (SUCCEEDED, FAILED, ...) when waited for

    @property
    def succeeded(self) -> bool | None:
        return None if self.state is None else self.state == "SUCCEEDED"


def submit(package_path: str, host: str | None, arguments: dict[str, Any], *,
           experiment: str = DEFAULT_EXPERIMENT, run_name: str | None = None,
           namespace: str | None = None, existing_token: str | None = None,
           wait: bool = False, timeout: int = 3600) -> SubmitResult:
    """Start a run of a compiled pipeline YAML; optionally wait until it ends.

    `arguments` may hold strings (from the command line): each becomes the type the pipeline
    declares for it. Host and token fall back to KFP_HOST and KFP_TOKEN.
    """
    parameters = coerce_arguments(arguments, pipeline_parameters(package_path), package_path)
    host = resolve_host(host)
    client = connect(host, namespace=namespace, existing_token=existing_token)
    with _kubeflow_call(host, "start the run"):
        run = client.create_run_from_pipeline_package(
            package_path, arguments=parameters, run_name=run_name or _default_run_name(package_path),
            experiment_name=experiment, namespace=namespace)
    result = SubmitResult(run_id=run.run_id, run_url=f"{host}/#/runs/details/{run.run_id}",
                          experiment_id=run.run_info.experiment_id)
    if wait:
        result.state = _wait_for_final_state(client, host, result, timeout)
    return result


def upload(package_path: str, host: str | None, name: str, description: str = "", *,
           namespace: str | None = None, existing_token: str | None = None) -> str:
    """Upload a compiled pipeline so it appears in the Kubeflow UI; returns the pipeline id.

    A pipeline with that name already there gets the file as a new version instead.
    """
    pipeline_parameters(package_path)  # a clear error for a missing or broken file
    host = resolve_host(host)
    client = connect(host, namespace=namespace, existing_token=existing_token)
    with _kubeflow_call(host, f"upload pipeline {name!r}"):
        pipeline_id = client.get_pipeline_id(name)
        if pipeline_id is None:
            return client.upload_pipeline(package_path, pipeline_name=name,
                                          description=description or None,
                                          namespace=namespace).pipeline_id
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        client.upload_pipeline_version(package_path, pipeline_version_name=f"{name} {stamp}",
                                       pipeline_id=pipeline_id, description=description or None)
        return pipeline_id


def resolve_host(host: str | None) -> str:
    """The API address: the argument, else KFP_HOST; `localhost:8080` means plain http."""
    host = (host or os.environ.get("KFP_HOST", "")).strip().rstrip("/")
    if not host:
        raise InputError("no Kubeflow Pipelines host given",
                         fix=f"pass --host URL or set KFP_HOST (for a cluster: `{PORT_FORWARD}`, "
                             "then use http://localhost:8080)")
    if "://" not in host:
        # A port-forward is plain http; anything else is most likely behind TLS.
        local = host.split(":")[0] in ("localhost", "127.0.0.1")
        host = ("http://" if local else "https://") + host
    return host


def connect(host: str, *, namespace: str | None = None, existing_token: str | None = None):
    """A kfp.Client for `host`, after a quick health check that fails with a clear message."""
    token = existing_token or os.environ.get("KFP_TOKEN") or None
    multi_user = _check_health(host, token)
    if multi_user and not namespace and Path(POD_NAMESPACE_FILE).is_file():
        # In a Kubeflow notebook, the notebook's own profile namespace (as kfp does).
        namespace = Path(POD_NAMESPACE_FILE).read_text().strip()
    if multi_user and not namespace:
        raise KubeflowError(f"Kubeflow Pipelines at {host} is multi-user: runs belong to a namespace",
                            host=host, fix="pass --namespace with your Kubeflow profile's namespace")
    # Imported here: kfp.Client pulls in the Kubernetes client, which `nlpfactory --help`
    # should not have to load.
    import kfp

    with _kubeflow_call(host, "connect"):
        return kfp.Client(host=host, existing_token=token, namespace=namespace or "kubeflow")


def pipeline_parameters(package_path: str) -> dict[str, dict[str, Any]]:
    """The pipeline's inputs as the compiled YAML declares them: name -> IR definition."""
    path = Path(package_path)
    if path.suffix not in (".yaml", ".yml"):
        raise InputError("not a compiled pipeline YAML file", file=package_path,
                         fix="compile the pipeline first (`make pipelines`) and pass the .yaml file")
    if not path.is_file():
        raise InputError("no such file", file=package_path,
                         fix="compile the pipeline first (`make pipelines`) or check the path")
    try:
        spec = next(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, StopIteration) as err:
        raise InputError(f"not readable as YAML ({err})", file=package_path,
                         fix="recompile the pipeline (`make pipelines`)") from None
    if not isinstance(spec, dict) or "root" not in spec:
        raise InputError("not a compiled KFP pipeline (no `root` section)", file=package_path,
                         fix="pass a file written by the KFP compiler (`make pipelines`)")
    return spec["root"].get("inputDefinitions", {}).get("parameters", {})


def coerce_arguments(arguments: dict[str, Any], parameters: dict[str, dict[str, Any]],
                     package_path: str = "") -> dict[str, Any]:
    """Check names against the pipeline's inputs and turn strings into the declared types.

    Kubeflow rejects a run whose parameter has the wrong JSON type (a string "3" for an
    integer), so the command line's strings are converted here, where the error can say which.
    """
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        raise InputError(f"unknown pipeline parameter(s): {', '.join(unknown)}", file=package_path,
                         fix=f"use one of: {', '.join(sorted(parameters)) or '(none)'}")
    missing = sorted(name for name, spec in parameters.items() if name not in arguments
                     and "defaultValue" not in spec and not spec.get("isOptional"))
    if missing:
        raise InputError(f"missing required pipeline parameter(s): {', '.join(missing)}",
                         file=package_path, fix="pass each with --param NAME=VALUE")
    out = {}
    for name, value in arguments.items():
        python_type, words = PARAMETER_TYPES.get(parameters[name].get("parameterType"), (str, "text"))
        if isinstance(value, str) and python_type is not str:
            try:
                value = parse_value(value, python_type)
            except ValueError as err:
                raise InputError(f"parameter {name!r} takes {words}: {err}", file=package_path,
                                 fix=f"pass --param {name}=VALUE with VALUE {words}") from None
        out[name] = value
    return out


def _check_health(host: str, token: str | None) -> bool:
    """GET the healthz endpoint once, briefly; returns whether the install is multi-user.

    kfp.Client checks health itself, but retries an error answer for half a minute and
    then says only that it timed out.
    """
    request = urllib.request.Request(host + HEALTHZ_PATH, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    # No proxy from the environment: kfp.Client ignores it too, so both see the same server.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as err:
        raise _answer_error(host, err.code, err.read(2000).decode("utf-8", "replace")) from None
    except (urllib.error.URLError, OSError) as err:
        raise _unreachable(host, getattr(err, "reason", err)) from None
    try:
        health = json.loads(body)
    except ValueError:
        raise KubeflowError(f"{host} answered with a web page, not the Kubeflow Pipelines API "
                            "(most likely a login page)", host=host,
                            fix=f"set KFP_TOKEN to a token the cluster accepts, or `{PORT_FORWARD}` "
                                "and use --host http://localhost:8080") from None
    return bool(isinstance(health, dict) and health.get("multi_user"))


def _unreachable(host: str, reason: object) -> KubeflowError:
    return KubeflowError(f"cannot reach Kubeflow Pipelines at {host} ({reason})", host=host,
                         fix=f"check the address; for a cluster, run `{PORT_FORWARD}` and use "
                             "--host http://localhost:8080")


def _answer_error(host: str, status: int, body: str, doing: str = "reach the pipelines API") -> KubeflowError:
    detail = _error_message(body)
    problem = f"Kubeflow Pipelines at {host} answered HTTP {status} when asked to {doing}"
    problem += f": {detail}" if detail else ""
    if status in (401, 403):
        fix = ("set KFP_TOKEN to a bearer token the cluster accepts, pass --namespace for a "
               f"multi-user install, or `{PORT_FORWARD}` and use --host http://localhost:8080")
    elif status == 404:
        fix = (f"point --host at the pipelines API: after `{PORT_FORWARD}` that is "
               "http://localhost:8080; behind the Kubeflow dashboard it is <dashboard URL>/pipeline")
    elif status >= 500:
        fix = "the pipelines server is in trouble: check its pods with `kubectl get pods -n kubeflow`"
    else:
        fix = "the server refused the request as sent; its message above says why"
    return KubeflowError(problem, host=host, status=status, fix=fix)


def _error_message(body: str) -> str:
    """The server's own sentence from a JSON error body, else the start of the body."""
    with contextlib.suppress(ValueError, AttributeError):
        payload = json.loads(body)
        return str(payload.get("message") or payload.get("error") or "").strip()
    return body.strip()[:300]


@contextlib.contextmanager
def _kubeflow_call(host: str, doing: str):
    """Turn kfp's transport and API exceptions into KubeflowError, and keep kfp quiet: it
    warns about server versions and prints links, where the caller prints the run's URL."""
    import kfp_server_api
    import urllib3

    printed = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            warnings.simplefilter("ignore", FutureWarning)
            yield
    except kfp_server_api.ApiException as err:
        if not err.status:  # kfp reports some transport failures as status 0
            raise _unreachable(host, err.reason) from None
        raise _answer_error(host, err.status, str(err.body or err.reason or ""), doing) from None
    except urllib3.exceptions.HTTPError as err:
        raise _unreachable(host, err) from None
    finally:
        if printed.getvalue().strip():
            log.debug("kfp: %s", printed.getvalue().strip())


def _wait_for_final_state(client, host: str, result: SubmitResult, timeout: int) -> str:
    # Our own loop: kfp's wait_for_run_completion never treats CANCELED as final.
    deadline = time.monotonic() + timeout
    while True:
        with _kubeflow_call(host, f"report on run {result.run_id}"):
            state = str(client.get_run(result.run_id).state or "")
        if state in FINAL_STATES:
            return state
        if time.monotonic() >= deadline:
            raise KubeflowError(f"run {result.run_id} is still {state or 'pending'} after {timeout} s; "
                                "it keeps running on the cluster", host=host,
                                fix=f"follow it at {result.run_url}, or wait longer (timeout)")
        time.sleep(POLL_SECONDS)


def _default_run_name(package_path: str) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{Path(package_path).stem} {stamp}"
