#!/usr/bin/env bash
# The install steps of the nlpfactory image, kept out of the Dockerfile so that CI can run
# and check them without a Docker engine (tests/docker/test_image_install.py).
#
#   install.sh [--dry-run] [--no-deps] STEP...
#
#   torch    install torch $TORCH_VERSION: the CPU wheel (TORCH_VARIANT=cpu, from PyTorch's
#            CPU index) or the CUDA one (TORCH_VARIANT=cuda: PyPI's Linux wheel, which brings
#            its CUDA libraries with it; the node needs only the NVIDIA driver).
#            TORCH_INDEX (an index URL, or "pypi") or TORCH_FIND_LINKS (a URL or folder of
#            wheel files) say where from instead, for mirrors and air-gapped builds.
#   deps     install nlpfactory's dependencies, its `full` extra included, as
#            $SRC/pyproject.toml lists them, at the versions $SRC/constraints.txt pins (what
#            CI tested, as CI and the Makefile install them); its own image layer, so a
#            change of the source alone does not reinstall them
#   project  install nlpfactory: $PROJECT, a wheel or folder (default $SRC, the folder
#            above this script)
#   check    every module of the source tree is installed, and (without --no-deps) each
#            imports, the `nlpfactory` command runs, and torch is the variant asked for
#
#   --dry-run  print the commands instead of running them
#   --no-deps  install the project alone, offline, without its dependencies (give a
#              prebuilt wheel as PROJECT): a quick packaging check in a fresh virtualenv
#
# Environment: PYTHON (default python3), TORCH_VARIANT (cpu), TORCH_VERSION (2.13.0, the
# version CI tests with), TORCH_INDEX, TORCH_FIND_LINKS, BUILD_CA_URL (a CA bundle that pip
# trusts for this call only; fetched to a temporary file, removed after), SRC, PROJECT.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
TORCH_VARIANT="${TORCH_VARIANT:-cpu}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
SRC="${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
PROJECT="${PROJECT:-$SRC}"
TORCH_CPU_INDEX="https://download.pytorch.org/whl/cpu"
TORCH_INDEX="${TORCH_INDEX:-}"
TORCH_FIND_LINKS="${TORCH_FIND_LINKS:-}"
BUILD_CA_URL="${BUILD_CA_URL:-}"

dry_run=0
no_deps=0
steps=()

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit "${1:-0}"
}

run() {
    if ((dry_run)); then
        printf '%q ' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# The pip options that say where torch comes from.
torch_source() {
    if [[ -n $TORCH_FIND_LINKS ]]; then
        # The wheel folder first; torch's own requirements still come from the index.
        printf '%s\n' --find-links "$TORCH_FIND_LINKS"
    elif [[ $TORCH_INDEX == pypi ]]; then
        :
    elif [[ -n $TORCH_INDEX ]]; then
        printf '%s\n' --index-url "$TORCH_INDEX"
    elif [[ $TORCH_VARIANT == cpu ]]; then
        printf '%s\n' --index-url "$TORCH_CPU_INDEX"
    fi
}

install_torch() {
    case "$TORCH_VARIANT" in
        cpu | cuda) ;;
        *)
            echo "install.sh: TORCH_VARIANT must be cpu or cuda, not '$TORCH_VARIANT'" >&2
            exit 2
            ;;
    esac
    local source=()
    mapfile -t source < <(torch_source)
    # A CPU wheel from a folder or mirror is version 2.13.0+cpu; ask for that exact build so
    # an index that also has the CUDA 2.13.0 cannot win.
    local wanted="torch==$TORCH_VERSION"
    if [[ $TORCH_VARIANT == cpu && $TORCH_INDEX != pypi && $TORCH_VERSION != *+* ]]; then
        wanted="torch==$TORCH_VERSION+cpu"
    fi
    run "$PYTHON" -m pip install "${source[@]}" "$wanted"
}

# Trust BUILD_CA_URL's bundle for the pip calls of this script only.
fetch_build_ca() {
    [[ -n $BUILD_CA_URL ]] || return 0
    BUILD_CA=$(mktemp)
    trap 'rm -f "$BUILD_CA"' EXIT
    "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
        "$BUILD_CA_URL" "$BUILD_CA"
    export PIP_CERT="$BUILD_CA"
}

# pip install with the versions CI tested ($SRC/constraints.txt) but torch's pin: the torch
# step installed the variant and version asked for, and nothing may swap it. A source tree
# without the file (an sdist) installs unpinned.
pip_install_pinned() {
    local pins=() file=""
    if [[ -f $SRC/constraints.txt ]]; then
        file=$(mktemp)
        grep -v '^torch==' "$SRC/constraints.txt" >"$file"
        pins=(-c "$file")
    fi
    run "$PYTHON" -m pip install "${pins[@]}" "$@"
    if [[ -n $file ]]; then rm -f "$file"; fi
}

install_deps() {
    local deps=()
    # The plain dependencies and the `full` extra's, which names other extras as nlpfactory[...].
    mapfile -t deps < <("$PYTHON" -c 'import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
def expand(reqs):
    for r in reqs:
        if r.startswith("nlpfactory["):
            yield from expand(project["optional-dependencies"][r[len("nlpfactory["):-1]])
        else:
            yield r
print("\n".join(expand([*project["dependencies"], "nlpfactory[full]"])))' "$SRC/pyproject.toml")
    pip_install_pinned "${deps[@]}"
}

install_project() {
    if ((no_deps)); then
        run "$PYTHON" -m pip install --no-deps --no-build-isolation --no-index --force-reinstall "$PROJECT"
    else
        pip_install_pinned "$PROJECT[full]"
    fi
}

# Compares the source tree (mapped as pyproject's package-dir says) with what was installed:
# an editable install hides a sub-package that a real `pip install .` would leave out.
check_install() {
    local import_all=$((1 - no_deps))
    run "$PYTHON" -I -u - "$SRC" "$import_all" "$TORCH_VARIANT" <<'PY'
import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

src, import_all, variant = Path(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
pyproject = tomllib.loads((src / "pyproject.toml").read_text(encoding="utf-8"))
package_dirs = pyproject["tool"]["setuptools"]["package-dir"]


def modules(root: Path, package: str) -> set[str]:
    """Dotted names of every .py file under `root` (a package folder named `package`)."""
    found = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if "__pycache__" not in parts:
            found.add(".".join((package, *parts)))
    return found


expected = set()
for package, folder in package_dirs.items():
    # Sub-folders mapped on their own (components, pipelines) are counted once, there.
    nested = [p for p in package_dirs if p.startswith(package + ".")]
    expected |= {m for m in modules(src / folder, package)
                 if not any(m == n or m.startswith(n + ".") for n in nested)}

spec = importlib.util.find_spec("nlpfactory")
if spec is None:
    sys.exit("check: nlpfactory is not installed in " + sys.prefix)
site = Path(next(iter(spec.submodule_search_locations))).parent
if src.resolve() in [site.resolve(), *site.resolve().parents]:
    sys.exit(f"check: nlpfactory is imported from the source tree ({site}), not an install")
installed = modules(site / "nlpfactory", "nlpfactory")
missing = sorted(expected - installed)
if missing:
    sys.exit("check: modules in the source tree but not installed (add their package to "
             "pyproject's `packages`): " + ", ".join(missing))
if not importlib.metadata.entry_points(group="console_scripts", name="nlpfactory"):
    sys.exit("check: the `nlpfactory` command was not installed")
print(f"check: {len(expected)} modules installed in {site}")

if import_all:
    for name in sorted(expected):
        if not name.endswith(".__init__"):
            importlib.import_module(name)
    print(f"check: all {len(expected)} modules import")
    subprocess.run([Path(sysconfig.get_path("scripts")) / "nlpfactory", "--version"], check=True)
    import torch

    if (torch.version.cuda is not None) != (variant == "cuda"):
        sys.exit(f"check: asked for the {variant} torch, got {torch.__version__} "
                 f"(CUDA {torch.version.cuda})")
    if variant == "cpu":
        cuda_libs = sorted(d.metadata["Name"] for d in importlib.metadata.distributions()
                           if d.metadata["Name"].lower().startswith(("nvidia-", "triton")))
        if cuda_libs:
            sys.exit("check: the CPU image carries CUDA libraries: " + ", ".join(cuda_libs))
    print(f"check: torch {torch.__version__} ({variant})")
PY
}

while (($#)); do
    case "$1" in
        --dry-run) dry_run=1 ;;
        --no-deps) no_deps=1 ;;
        -h | --help) usage 0 ;;
        torch | deps | project | check) steps+=("$1") ;;
        *)
            echo "install.sh: unknown argument '$1'" >&2
            usage 2 >&2
            ;;
    esac
    shift
done
((${#steps[@]})) || usage 2 >&2
((dry_run)) || fetch_build_ca

for step in "${steps[@]}"; do
    case "$step" in
        torch) install_torch ;;
        deps) install_deps ;;
        project) install_project ;;
        check) check_install ;;
    esac
done
