"""Progress bars for long training runs, drawn by tqdm from the trainer's
``on_progress(done, total)`` calls.

The trainer reports after each chunk of mini-batches (a few times a second,
never per mini-batch), so a bar costs a handful of Python calls per second
of training: nothing measurable.  One bar per epoch, its total the epoch's
mini-batches; it shows mini-batches done, the rate and the time left, and
is cleared when the epoch ends so the per-epoch lines stay readable.

Bars are drawn only when the stream (stderr) is a terminal, unless forced
with ``force=True`` or ``FASTNN_PROGRESS=1`` (``FASTNN_PROGRESS=0`` turns
them off everywhere).
"""
import io
import os
import sys


def enabled(stream=None, force=None):
    """Whether bars should be drawn on ``stream``: ``force`` (True/False) wins,
    then ``FASTNN_PROGRESS``, then whether the stream is a terminal."""
    if force is not None:
        return bool(force)
    env = os.environ.get("FASTNN_PROGRESS", "").strip().lower()
    if env in ("1", "true", "yes", "always"):
        return True
    if env in ("0", "false", "no", "never"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class EpochBars(object):
    """An ``on_progress(done, total)`` callable drawing one tqdm bar per epoch.

    Epochs are numbered from 0, as the history records and the book's
    programs number them; with ``epochs`` the bar also counts them, "epoch 0
    (1/30)" being the first of 30.  ``totals``
    records each epoch's total, which is what the tests check.  When bars
    are disabled the callable only counts.
    """

    def __init__(self, epochs=None, desc="epoch", stream=None, force=None, leave=False):
        self.epochs, self.desc, self.leave = epochs, desc, leave
        self.stream = sys.stderr if stream is None else stream
        self.active = enabled(self.stream, force)
        self.epoch, self.done, self.bar, self.in_epoch = 0, 0, None, False
        self.totals = []

    def __call__(self, done, total):
        if not self.in_epoch or done < self.done:
            self.close()
            self._open(total)
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.close()

    def _open(self, total):
        self.epoch += 1
        self.totals.append(total)
        self.done, self.in_epoch = 0, True
        if not self.active:
            return
        label = "{} {}".format(self.desc, self.epoch - 1) if self.epochs is None else \
            "{} {} ({}/{})".format(self.desc, self.epoch - 1, self.epoch, self.epochs)
        self.bar = bar(total, label, "batch", self.stream, self.leave)

    def close(self):
        self.in_epoch = False
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def bar(total, desc, unit, stream=None, leave=False):
    """A tqdm bar on ``stream`` (stderr), following the terminal's width, or
    100 columns where there is no size (a pipe, a file, or a pseudo-terminal
    of size 0, where tqdm would draw nothing)."""
    from tqdm import tqdm
    stream = sys.stderr if stream is None else stream
    try:
        width, height = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        width = height = 0
    sized = width > 0 and height > 0
    return tqdm(total=total, desc=desc, unit=unit, file=stream, leave=leave, dynamic_ncols=sized,
                ncols=None if sized else 100, nrows=None if sized else 20, mininterval=0.2)


def combine(*callbacks):
    """One ``on_progress`` calling each of ``callbacks`` that is not None
    (None when none is)."""
    callbacks = [c for c in callbacks if c is not None]
    if not callbacks:
        return None
    if len(callbacks) == 1:
        return callbacks[0]

    def on_progress(done, total):
        for c in callbacks:
            c(done, total)
    return on_progress


def attach(on_progress, verbose, epochs=None):
    """The front ends' ``on_progress``: the user's callback, plus a bar per
    epoch when ``verbose`` is set and bars are enabled (see ``enabled``)."""
    if not verbose or not enabled():
        return on_progress
    return combine(EpochBars(epochs), on_progress)
