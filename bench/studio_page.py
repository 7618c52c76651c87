"""First load of the studio page on loopback, in headless Debian chromium (Playwright).

Each cold repetition starts a fresh `nlpfactory studio` process (nothing cached: specs loaded
by kfp on the first palette request) and a fresh browser context; warm repetitions reload in
a new context against the same server. Two times per load: the browser's load event, and
"ready" (palette drawn and templates listed, i.e. the page is usable). Baseline in the same
run: the palette API's JSON fetched alone, the server-side part of the ready time.

Target: first page load < 1 s.

    python bench/studio_page.py            # about half a minute
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pipelines" / "studio"))

from browser import chromium, chromium_path  # noqa: E402
from common import print_table, write_json  # noqa: E402

READY = "document.querySelectorAll('.palette-item').length > 0 && document.querySelectorAll('#open-template option').length > 1"


def start_studio(folder: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "nlpfactory.pipelines.cli", "studio", "--port", "0",
                                "--folder", str(folder)], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    found = re.search(r"http://[\d.]+:\d+/", line)
    if not found:
        process.kill()
        raise SystemExit(f"the studio did not start: {line!r}")
    return process, found.group(0)


def load_once(browser, url: str) -> dict:
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(READY)
    times = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        return {load: nav.loadEventEnd, ready: performance.now()};
    }""")
    api = page.evaluate("""async () => { const t = performance.now(); await (await fetch('/api/palette')).json();
                                         return performance.now() - t; }""")
    context.close()
    return {"load_ms": times["load"], "ready_ms": times["ready"], "palette_api_ms": api}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", type=int, default=3, help="Fresh server + browser context loads.")
    parser.add_argument("--warm", type=int, default=5, help="Reloads against a running server.")
    args = parser.parse_args(argv)
    if not chromium_path():
        raise SystemExit("needs Debian's chromium: apt-get install -y chromium")
    import tempfile

    cold, warm = [], []
    with chromium() as browser, tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cold):
            process, url = start_studio(Path(tmp) / f"cold-{i}")
            try:
                started = time.perf_counter()
                cold.append(load_once(browser, url))
                cold[-1]["wall_ms"] = (time.perf_counter() - started) * 1000
                if i == args.cold - 1:
                    warm = [load_once(browser, url) for _ in range(args.warm)]
            finally:
                process.terminate()
                process.wait(10)
    rows = []
    for name, loads in (("first load (fresh server)", cold), ("reload (warm server)", warm)):
        rows.append({"page load": name, "runs": len(loads),
                     "load event ms (median)": round(statistics.median(r["load_ms"] for r in loads)),
                     "ready ms (median)": round(statistics.median(r["ready_ms"] for r in loads)),
                     "ready ms (max)": round(max(r["ready_ms"] for r in loads)),
                     "baseline: /api/palette alone ms": round(statistics.median(r["palette_api_ms"] for r in loads), 1)})
    print_table(rows, list(rows[0]))
    print(f"\ntarget: first page load < 1000 ms -> {'met' if max(r['ready_ms'] for r in cold) < 1000 else 'NOT met'}")
    print(write_json("studio_page", {"cold": cold, "warm": warm, "table": rows}))


if __name__ == "__main__":
    main()
