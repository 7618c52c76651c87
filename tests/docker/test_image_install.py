"""The image, checked without a Docker engine: what docker/Dockerfile copies exists and is
sent, docker/install.sh is sound, and a real (non-editable) install of exactly what the
Dockerfile copies ships every module of the source tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
INSTALL = ROOT / "docker" / "install.sh"


def copied_sources() -> list[str]:
    """Source paths of the Dockerfile's COPY instructions (build-context ones only)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    sources = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def install_sh(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_every_copied_path_exists_and_is_let_through_by_dockerignore():
    sources = copied_sources()
    allowed = [line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.startswith("!")]

    assert {"pyproject.toml", "lib", "components", "pipelines", "docker/install.sh"} <= set(sources)
    assert [s for s in sources if not (ROOT / s).exists()] == []
    assert sorted(set(sources)) == sorted(allowed)


@pytest.mark.parametrize("script", ["install.sh", "local-engine.sh"])
def test_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(ROOT / "docker" / script)]).returncode == 0


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
@pytest.mark.parametrize("script", ["install.sh", "local-engine.sh"])
def test_scripts_pass_shellcheck(script):
    result = subprocess.run(["shellcheck", str(ROOT / "docker" / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_cpu_image_takes_torch_from_the_cpu_index_and_gpu_image_from_pypi():
    cpu = install_sh("--dry-run", "torch", TORCH_VARIANT="cpu")
    cuda = install_sh("--dry-run", "torch", TORCH_VARIANT="cuda")

    assert cpu.returncode == 0 and cuda.returncode == 0
    assert "--index-url https://download.pytorch.org/whl/cpu" in cpu.stdout
    assert "torch==2.13.0+cpu" in cpu.stdout.split()  # the CPU build, whatever else the index has
    assert "--index-url" not in cuda.stdout  # PyPI's Linux torch wheel is the CUDA build
    assert install_sh("--dry-run", "torch", TORCH_VARIANT="rocm").returncode == 2


def test_torch_can_come_from_a_wheel_folder_pypi_or_a_mirror():
    folder = install_sh("--dry-run", "torch", TORCH_FIND_LINKS="http://127.0.0.1:8000/wheels/").stdout.split()
    pypi = install_sh("--dry-run", "torch", TORCH_INDEX="pypi", TORCH_VARIANT="cuda").stdout.split()
    mirror = install_sh("--dry-run", "torch", TORCH_INDEX="https://mirror.example.com/simple").stdout.split()

    assert folder[-3:] == ["--find-links", "http://127.0.0.1:8000/wheels/", "torch==2.13.0+cpu"]
    assert "--index-url" not in pypi and "--find-links" not in pypi
    assert mirror[-3:] == ["--index-url", "https://mirror.example.com/simple", "torch==2.13.0+cpu"]


def test_every_build_argument_the_build_command_sets_is_declared_in_the_dockerfile(tmp_path):
    from nlpfactory.image import ImageBuild, build_args

    declared = set(re.findall(r"^ARG (\w+)", DOCKERFILE.read_text(), re.M))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    for spec in (ImageBuild(), ImageBuild(gpu=True, torch_source="pypi", torch_version="2.5.0"),
                 ImageBuild(torch_source=str(wheels), ca_bundle=str(ca)),
                 ImageBuild(torch_source="https://mirror.example.com/simple")):
        args = build_args(spec, "nlpfactory/base:bookworm", "http://127.0.0.1:1")
        assert set(args) <= declared, set(args) - declared
    assert build_args(ImageBuild(torch_source=str(wheels)), "b", "http://127.0.0.1:1")["TORCH_FIND_LINKS"] \
        == "http://127.0.0.1:1/wheels/"


def test_a_torch_source_that_is_no_folder_index_or_name_is_refused():
    from nlpfactory.errors import InputError
    from nlpfactory.image import ImageBuild

    with pytest.raises(InputError, match="neither pytorch, pypi, an index URL nor a folder"):
        ImageBuild(torch_source="./no-such-wheels")


def test_image_torch_is_the_version_ci_tests_with():
    pinned = re.search(r"torch==([\w.]+)", (ROOT / "Makefile").read_text())
    if not pinned:
        pytest.skip("the Makefile pins no torch version")

    out = install_sh("--dry-run", "torch", TORCH_VARIANT="cpu").stdout

    assert f"torch=={pinned.group(1)}+cpu" in out.split()


def test_image_installs_dependencies_at_the_versions_ci_tested_but_keeps_its_torch(tmp_path):
    # A python that runs everything but pip, and shows pip's arguments and constraints file.
    python = tmp_path / "python"
    python.write_text(f"""#!/usr/bin/env bash
if [[ $1 == -m && $2 == pip ]]; then
    echo "$@"
    while (($#)); do if [[ $1 == -c ]]; then cat "$2"; fi; shift; done
else
    exec {sys.executable} "$@"
fi
""")
    python.chmod(0o755)

    out = install_sh("deps", "project", PYTHON=str(python), SRC=str(ROOT)).stdout

    pins = {line for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    shown = set(out.splitlines())
    assert out.count("pip install -c ") == 2
    assert pins - shown == {p for p in pins if p.startswith("torch==")}


def test_image_name_is_the_one_components_run_in():
    env = {k: v for k, v in os.environ.items() if k != "NLPFACTORY_IMAGE"}
    image = subprocess.run(
        [sys.executable, "-c", "from nlpfactory.components.image import IMAGE; print(IMAGE)"],
        capture_output=True, text=True, env=env, check=True).stdout.strip()

    assert re.search(rf"^IMAGE\s*\?=\s*{re.escape(image)}\s*$", (ROOT / "Makefile").read_text(), re.M)
    assert image in (ROOT / "docker" / "README.md").read_text()
    assert image in DOCKERFILE.read_text()


# A real install: the wheel built from what the Dockerfile copies, installed without
# dependencies into a fresh virtualenv by install.sh, then install.sh's own check.

def build_context(dest: Path) -> Path:
    for source in copied_sources():
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, dest / source, ignore=shutil.ignore_patterns("__pycache__", "compiled"),
                            dirs_exist_ok=True)
        else:
            (dest / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / source)
    return dest


def build_wheel(context: Path, out: Path) -> Path:
    # Built as `pip install .` builds it in the image: in an isolated env with the
    # build-system requirements of pyproject.toml (fetched from the package index).
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(context)],
                   check=True, timeout=300)
    [wheel] = out.glob("nlpfactory-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh virtualenv into which install.sh installed the wheel: (its python, context)."""
    tmp = tmp_path_factory.mktemp("image-install")
    context = build_context(tmp / "context")
    wheel = build_wheel(context, tmp / "wheels")
    venv.create(tmp / "venv", with_pip=True)
    python = tmp / "venv" / "bin" / "python"
    result = install_sh("--no-deps", "project", PYTHON=str(python), PROJECT=str(wheel))
    assert result.returncode == 0, result.stderr
    return python, context


def check(python: Path, context: Path) -> subprocess.CompletedProcess:
    return install_sh("--no-deps", "check", PYTHON=str(python), SRC=str(context))


@pytest.mark.slow
def test_installing_what_the_dockerfile_copies_ships_every_module(installed):
    result = check(*installed)

    assert result.returncode == 0, result.stderr
    assert "modules installed" in result.stdout


@pytest.mark.slow
def test_check_names_a_module_that_was_not_installed(installed):
    python, context = installed
    [models] = python.parent.parent.glob("lib/python*/site-packages/nlpfactory/models")
    models.rename(models.with_name("models-moved"))
    try:
        result = check(python, context)
    finally:
        models.with_name("models-moved").rename(models)

    assert result.returncode != 0
    assert "nlpfactory.models.load" in result.stderr
