"""Packaging behaviour that users meet before any training."""
import os
import shutil
import subprocess
import sys

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
