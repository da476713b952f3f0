"""Rough edges a new user met (issue 10, part 2): each test pins one fix."""
import os
import shutil

import pytest

from fastnn import datasets
from helpers import find_mnist


def test_tests_find_mnist_in_the_per_user_cache_without_fastnn_data(tmp_path, monkeypatch):
    """The README says FASTNN_DATA is needed only when the files are not in the
    per-user cache: the tests look there too, as the library does."""
    source = find_mnist()
    if source is None or not os.path.isdir(source):
        pytest.skip("no MNIST IDX folder to copy into a cache")
    cache = tmp_path / "fastnn" / "mnist"
    cache.mkdir(parents=True)
    for name in datasets.MNIST_FILES:
        shutil.copy(os.path.join(source, name), str(cache / name))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    assert find_mnist() == str(cache)
