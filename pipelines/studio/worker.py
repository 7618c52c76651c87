"""One studio run, in its own process: `python -m nlpfactory.pipelines.studio.worker RUN_DIR`.

Builds the pipeline from RUN_DIR/graph.json and runs it with the same local runner as
`nlpfactory run`; the server follows it through the log and the outputs, and RUN_DIR/result.json
says how it ended.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from nlpfactory.atomic import atomic_write_bytes


def main(run_dir: str) -> int:
    from nlpfactory.pipelines.local import run_pipeline
    from nlpfactory.pipelines.studio.build import pipeline_function
    from nlpfactory.pipelines.studio.graph import Graph

    folder = Path(run_dir)
    graph = Graph.from_json(json.loads((folder / "graph.json").read_text(encoding="utf-8")))
    arguments = json.loads((folder / "arguments.json").read_text(encoding="utf-8"))
    try:
        result = run_pipeline(graph.name, pipeline_function(graph), arguments, folder / "outputs")
    except BaseException as err:  # noqa: BLE001 - every ending is reported to the page
        traceback.print_exc()
        _finish(folder, {"state": "failed", "error": f"{type(err).__name__}: {err}"})
        return 1
    _finish(folder, {"state": "done", "outputs": str(result.root), "registered_model": result.registered_model})
    return 0


def _finish(folder: Path, result: dict) -> None:
    atomic_write_bytes(folder / "result.json", json.dumps(result, indent=2).encode("utf-8"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
