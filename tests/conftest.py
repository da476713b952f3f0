"""Shared fixtures: where the MNIST files are."""
import pytest

from helpers import require_mnist


@pytest.fixture(scope="session")
def mnist_path():
    """The MNIST files' folder (or pickle).  Without them anywhere (an unpacked
    sdist on a machine without the data) the test is skipped, saying so;
    a FASTNN_DATA that names no MNIST fails instead (``find_mnist``)."""
    return require_mnist()


def pytest_report_header(config):
    """Which fastnn the run tests (installed, or built in place) and its kernels."""
    import fastnn
    from fastnn._core import kernel_variant
    simd, openmp = kernel_variant()
    return "fastnn {} from {} (kernels: {}, {})".format(
        fastnn.__version__, fastnn.__file__, simd, "OpenMP" if openmp else "one thread")
