"""Writing files so that nothing is lost: write to a temporary file, then rename."""
import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="wb", suffix=".tmp"):
    """Yield a file opened in ``mode`` beside ``path``; when the block ends
    normally it is flushed, synced to disk and renamed onto ``path``
    (``os.replace`` is atomic: readers see the old file or the whole new
    one).  If the block raises, the temporary file is removed and ``path``
    is left as it was."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastnn-" + os.path.basename(path) + ".", suffix=suffix,
                               dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
