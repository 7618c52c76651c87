"""Peak memory of `data prepare` on a large TSV, beside reading the same file with pandas.

Writes a TSV of ~N MB of Chinese review-like rows (two labels), then, each in its own
process so each peak RSS is its own: Python with nlpfactory imported (the floor), pandas
`read_csv` of the file (a common way to load it: the baseline), and `prepare_dataset` on it
(streamed reading, then dedupe, split and Parquet writing, which hold the rows in memory).
Reports peak RSS in MB and as a multiple of the file size.

    python bench/prepare_memory.py            # a 200 MB file, ~3 minutes on 2 cores
    python bench/prepare_memory.py --mb 50    # quicker
    # also the prepare of another version of the library, e.g. before a change:
    git archive main lib/nlpfactory | tar -x -C /tmp/before
    python bench/prepare_memory.py --compare-src /tmp/before/lib
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

WORDS = "房间很干净服务周到位置方便早餐丰富性价比高前台热情设施陈旧隔音太差空调噪音卫生一般价格偏贵"

PROBES = {
    "python + nlpfactory imported (floor)": "import nlpfactory.data.prepare",
    "pandas.read_csv (baseline)": "import pandas as pd, sys; pd.read_csv(sys.argv[1], sep='\\t')",
    "nlpfactory data prepare": ("import sys; from nlpfactory.data.prepare import PrepareConfig, prepare_dataset; "
                                "prepare_dataset(PrepareConfig(data_source=sys.argv[1]), sys.argv[2])"),
}


def write_file(path: Path, megabytes: int) -> int:
    rng = random.Random(0)
    with path.open("w", encoding="utf-8") as f:
        f.write("text\tlabel\n")
        i = 0
        while f.tell() < megabytes * 1_000_000:
            text = "".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))
            f.write(f"{text}{i}\t{'pos' if i % 2 else 'neg'}\n")
            i += 1
    return i


def peak_rss_mb(code: str, *args: str, src: str = "") -> float:
    probe = (f"{code}\nimport resource, sys\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)")
    env = {**os.environ, "PYTHONPATH": src} if src else None  # PYTHONPATH comes before the editable install
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True,
                          env=env)
    return float(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="Size of the generated TSV in MB.")
    parser.add_argument("--compare-src", default="", help="A folder holding another nlpfactory package "
                        "(e.g. the code before a change) whose prepare is measured too.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "reviews.tsv"
        rows = write_file(data, args.mb)
        size = data.stat().st_size / 1e6
        results = []
        probes = [(name, code, "") for name, code in PROBES.items()]
        if args.compare_src:
            probes.append((f"data prepare of {args.compare_src}", PROBES["nlpfactory data prepare"], args.compare_src))
        for name, code, src in probes:
            out = Path(tmp) / f"out{len(results)}"
            rss = peak_rss_mb(code, str(data), str(out), src=src)
            results.append({"what": name, "peak_rss_mb": round(rss), "x_file_size": round(rss / size, 2)})
    print(f"file: {size:.0f} MB, {rows} rows")
    print_table(results, ["what", "peak_rss_mb", "x_file_size"])
    print("JSON:", write_json("prepare_memory", {"file_mb": round(size), "rows": rows, "results": results}))


if __name__ == "__main__":
    main()
