"""Writing files so that nothing is lost: write to a temporary file, then rename."""
import contextlib
import os
import re
import tempfile

_PREFIX = ".fastnn-"


@contextlib.contextmanager
def atomic_write(path, mode="wb", suffix=".tmp"):
    """Yield a file opened in ``mode`` beside ``path``; when the block ends
    normally it is flushed, synced to disk and renamed onto ``path``
    (``os.replace`` is atomic: readers see the old file or the whole new
    one).  If the block raises, the temporary file is removed and ``path``
    is left as it was.

    What a plain rename would lose is kept: a symbolic link is written
    through (its final target is replaced, the link stays a link), and the
    new file gets the permission bits of the file it replaces, or, for a new
    file, those the umask allows (a temporary file is created private).

    The temporary file's name carries the writer's process id.  A writer
    killed mid-write cannot remove its temporary file, so each write first
    removes the temporary files of earlier writes to the same target whose
    process no longer exists (a recycled process id only delays that).
    """
    path = os.path.realpath(os.fsdecode(_check_filename(path)))
    folder, name = os.path.split(path)
    _remove_stale(folder, name)
    fd, tmp = tempfile.mkstemp(prefix="{}{}.pid{}.".format(_PREFIX, name, os.getpid()),
                               suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), _mode_for(path))
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _check_filename(path):
    """``path`` as a str or bytes naming a file that may be written, or an
    error naming it: otherwise an empty name would resolve to the current
    directory and fail at the rename, far from the cause."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError("filename must be a str or os.PathLike path, not {!r}".format(path)) from None
    if not path:
        raise ValueError("filename is empty")
    if "\0" in os.fsdecode(path):
        raise ValueError("filename {!r} contains a NUL character".format(path))
    if os.path.isdir(path):
        raise IsADirectoryError("filename {!r} is a directory, not a file".format(path))
    return path


def _mode_for(path):
    """The permission bits of the existing ``path``, else 0666 less the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask():
    """The process's umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)      # elsewhere: read it by setting it, and put it back
    os.umask(mask)
    return mask


def _remove_stale(folder, name):
    """Remove our temporary files for ``folder/name`` left by dead processes."""
    ours = re.compile(re.escape(_PREFIX + name) + r"\.pid(\d+)\.[a-z0-9_]{8}\.(tmp|part)")
    try:
        entries = os.listdir(folder)
    except OSError:
        return                  # mkstemp will report the folder's problem
    for entry in entries:
        match = ours.fullmatch(entry)
        if match and not _process_exists(int(match.group(1))):
            try:
                os.unlink(os.path.join(folder, entry))
            except OSError:
                pass            # removed by another writer, or not ours to remove


def _process_exists(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True             # someone else's live process
    except (OverflowError, ValueError, OSError):
        return False            # not a valid process id at all
    return True
