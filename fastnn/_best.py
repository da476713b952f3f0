"""The one rule for "a new best epoch", shared by the training loop
(``fastnn.trainer.Tracker``), the plateau schedule
(``fastnn.optimizers.HalveOnPlateau``) and everything that reports a best
epoch afterwards.

It is network3's rule: an epoch whose validation accuracy *equals* the best
so far is a new best, so of tied epochs the later one wins (its weights are
the ones kept, its test accuracy the one reported).

Patience (early stopping, the plateau schedule) counts progress, not best
epochs: only an accuracy *above* the best so far starts the count again, so
an accuracy that stays flat (100% of a small validation set, say) runs out
of patience as a falling one does (``rises``).
"""


def improves(accuracy, best):
    """True when ``accuracy`` makes a new best against ``best`` (None: no
    epoch measured yet).  A tie counts as a new best."""
    return best is None or accuracy >= best


def rises(accuracy, best):
    """True when ``accuracy`` is progress against ``best`` (None: no epoch
    measured yet): strictly above it.  What patience counts."""
    return best is None or accuracy > best


def best_index(accuracies):
    """The position of the best of ``accuracies`` by that rule (the last of
    tied maxima), or None for an empty sequence; ``None`` entries (epochs
    not measured) are skipped."""
    best, at = None, None
    for i, accuracy in enumerate(accuracies):
        if accuracy is not None and improves(accuracy, best):
            best, at = accuracy, i
    return at
