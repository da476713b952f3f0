"""Packaging behaviour that users meet before any training."""
import os
import shutil
import subprocess
import sys

import pytest

import fastnn


def test_unbuilt_source_tree_fails_with_build_instructions(tmp_path):
    """A fastnn without its compiled extension refuses to import, saying how
    to build it, instead of silently running the numpy path."""
    src = os.path.dirname(fastnn.__file__)
    dest = tmp_path / "fastnn"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", "import fastnn"], cwd=str(tmp_path),
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "not built" in out.stderr
    assert "pip install ." in out.stderr and "build_ext --inplace" in out.stderr


def test_default_build_is_portable():
    """No -ffast-math or -march=native in the default build."""
    setup_py = os.path.join(os.path.dirname(__file__), "..", "setup.py")
    text = open(setup_py).read()
    flags = text[text.index("compile_args = ["):text.index("extensions = [")]
    assert "fast-math" not in flags and "march=native" not in flags


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNBUILT = shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__", "build", ".git",
                                 "*.egg-info", ".pytest_cache", ".benchmarks")


def _source_copy(tmp_path):
    """A copy of the repository as a fresh checkout has it: nothing built."""
    dest = tmp_path / "fastnn-src"
    shutil.copytree(REPO, str(dest), ignore=UNBUILT)
    return dest


def test_importing_from_the_unbuilt_source_tree_says_so(tmp_path):
    """From the repository root `import fastnn` finds the unbuilt folder first:
    the message says that, and what to do, not "circular import"."""
    src = _source_copy(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", "import fastnn"], cwd=str(src), env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "this is fastnn's source tree, not built" in out.stderr, out.stderr
    assert "run from another folder" in out.stderr and "pip install -e ." in out.stderr
    assert "circular" not in out.stderr


@pytest.mark.slow
def test_editable_install_builds_the_kernels_in_place(tmp_path):
    """`pip install -e .` works: the kernels are built into the checkout and
    `import fastnn` from its root then trains.  Offline: no build isolation,
    the build tools come from this environment (the test extras)."""
    for tool in ("Cython", "setuptools", "wheel", "numpy", "scipy"):
        pytest.importorskip(tool)
    import sysconfig
    src = _source_copy(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # this environment's packages (pip, the build tools, numpy) seen from the new one
    with open(os.path.join(site, "outer.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    out = subprocess.run([python, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
                          "--no-index", "-e", str(src)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    code = ("import fastnn, numpy as np; net = fastnn.MLP([4, 3, 2], seed=0); "
            "net.fit(np.random.default_rng(0).random((20, 4)), np.arange(20) % 2, epochs=1); "
            "print(fastnn.__file__)")
    out = subprocess.run([python, "-c", code], cwd=str(src), env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(src / "fastnn" / "__init__.py")


def test_version_is_written_once():
    """pyproject.toml takes the version from fastnn/_version.py, the one place it
    is written, and the package reports the same."""
    from fastnn._version import __version__
    assert fastnn.__version__ == __version__
    pyproject = os.path.join(REPO, "pyproject.toml")
    if not os.path.isfile(pyproject):
        pytest.skip("no pyproject.toml beside the tests")
    try:
        import tomllib
    except ImportError:
        import tomli as tomllib
    with open(pyproject, "rb") as f:
        project = tomllib.load(f)
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "fastnn._version.__version__"}


@pytest.mark.parametrize("variant", [None, "generic", "blas"])
def test_version_line_names_the_kernel_variant(variant):
    """`fastnn --version` prints the version and the variant the kernels run,
    as FASTNN_SIMD or the CPU chose it, and whether they have threads."""
    from fastnn._core import _dense, _gemm
    from helpers import fastnn_env
    env = fastnn_env(**({"FASTNN_SIMD": variant} if variant else {}))
    env.pop("FASTNN_SIMD", None) if variant is None else None
    out = subprocess.run([sys.executable, "-m", "fastnn.cli", "--version"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    expected = variant or _gemm.available()[-1]
    threads = "OpenMP threads" if _dense.OPENMP else "one thread: built without OpenMP"
    assert out.stdout.strip() == "fastnn {} (kernels: {}, {})".format(fastnn.__version__, expected,
                                                                       threads)
