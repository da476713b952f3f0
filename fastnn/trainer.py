"""The one training loop, shared by every front end and both backends.

``run`` trains an *engine* (the arrays of one network, its data and its
kernels) epoch by epoch.  Each epoch the engine draws its visiting order (or
keeps network3's in-order batches), and the loop hands the kernels a *chunk*
of mini-batches per call, sized so that a call lasts about a fifth of a
second.  Between chunks it checks that the parameters are still finite,
reports progress and lets Python run its signal handlers: Ctrl-C stops
training within a fraction of a second, leaving the weights as the last
finished chunk left them.  After each epoch it runs the front end's
monitors and callbacks and keeps the books every front end shares (a
``Tracker``: the per-epoch records, the best epoch by one tie rule, patience,
early stopping and restoring the best epoch's weights), and asks the
learning-rate schedule for the next rate.

Everything random is drawn in Python, never inside a kernel, so the numpy
reference and the compiled kernels see exactly the same mini-batches.
Kernel modules are ``fastnn.reference`` (numpy) and ``fastnn._core._dense``
(compiled) for fully connected networks; network3 has its own pair and its
own engine (``fastnn.network3``) on this same loop.
"""
import random
import time
import warnings

import numpy as np

from . import _blaslimit, _threads, activations, costs
from ._best import improves, rises
from ._config import check_backend, get_backend, get_shuffle
from .optimizers import Schedule

#: How long one kernel call should last, in seconds: short enough that
#: Ctrl-C and progress bars respond, long enough that the calls cost nothing.
CHUNK_SECONDS = 0.2


class TrainingDiverged(FloatingPointError):
    """The weights became NaN or infinite: training stopped.  The learning
    rate ``eta`` is almost always too large when this happens."""


class StopTraining(Exception):
    """Raise from an epoch callback (``on_epoch``) to end training after that
    epoch; returning ``False`` from it does the same."""


def kernels(backend=None):
    """The dense kernel module for ``backend`` (``None``: the process-wide default)."""
    name = get_backend() if backend is None else check_backend(backend)
    if name == "numpy":
        from . import reference
        return reference
    from ._core import _dense
    return _dense


class Spec(object):
    """What the kernels need to know about a fully connected network besides
    its arrays: the hidden layers' activation, the output layer's, and the
    cost.  ``hidden`` and ``out`` are ``fastnn.activations.Activation``s
    (from a name, or an ``Activation`` carrying its parameters);
    ``activation``, ``activation_param``, ``output`` and ``cost`` are the
    codes and the parameter the compiled kernels take (``cost_class`` too,
    for the numpy path, which calls its ``fn`` and ``delta``).

    A softmax output goes with the log-likelihood cost, and only with it; a
    linear output with ``SquaredErrorCost`` and an exponential one with
    ``PoissonCost`` likewise (each error is then ``a - y``).
    """

    def __init__(self, activation="sigmoid", output="sigmoid", cost=costs.CrossEntropyCost):
        self.hidden = activations.check(activation, activations.HIDDEN, "activation")
        self.out = activations.check(output, activations.OUTPUTS, "output")
        self.activation_name = self.hidden.name
        self.output_name = self.out.name
        self.cost_class = costs.cost_class(cost)
        softmax = self.output_name == "softmax"
        log_likelihood = self.cost_class is costs.LogLikelihoodCost
        if softmax and not log_likelihood:
            raise ValueError("output='softmax' needs cost='log_likelihood' (softmax outputs are "
                             "trained on their log-likelihood), not {}".format(self.cost_class.__name__))
        if log_likelihood and not softmax:
            raise ValueError("cost='log_likelihood' needs output='softmax', not {!r}".format(output))
        # a linear or exponential output layer has the one cost whose delta is a - y for it
        paired = {"linear": costs.SquaredErrorCost, "exp": costs.PoissonCost}
        for out_name, cost_cls in paired.items():
            if (self.output_name == out_name) != (self.cost_class is cost_cls):
                raise ValueError("output={!r} goes with cost={} and only with it (got output={!r}, "
                                 "cost={})".format(out_name, cost_cls.__name__, self.output_name,
                                                   self.cost_class.__name__))
        self.activation = self.hidden.code
        self.activation_param = self.hidden.param
        self.output = self.out.code
        self.cost = costs.CODES.get(self.cost_class, -1)

    def check_compiled(self):
        """A clear error for a cost the compiled kernels do not implement."""
        costs.kernel_code(self.cost_class)

    def __repr__(self):
        return "Spec(activation={!r}, output={!r}, cost={})".format(
            str(self.hidden), self.output_name, self.cost_class.__name__)


# -- the loop ---------------------------------------------------------------------

class Tracker(object):
    """``run``'s bookkeeping of one training call, the same for every front end.

    ``records`` holds each finished epoch's record (a dict with at least
    ``epoch`` and ``eta``; the front end's own fields besides, such as
    ``val_accuracy``).  The best epoch is the one of the best
    ``val_accuracy`` by ``fastnn._best``'s one rule (a tie is a new best:
    the later epoch wins): ``best_epoch``, ``best_accuracy`` and
    ``best_record`` (None until an epoch was measured).  ``since_best``
    counts the measured epochs since the best accuracy last rose (a tie
    moves the best epoch but is not progress: ``fastnn._best``); with
    ``patience`` set, training stops once that count reaches it (early
    stopping).  With
    ``restore_best`` the parameters are copied at each new best and put back
    by ``restore`` at the end.
    """

    def __init__(self, patience=None, restore_best=False):
        self.patience = patience
        self.restore_best = restore_best
        self.records = []
        self.epochs_run = 0
        self.best_accuracy = self.best_epoch = self.best_record = None
        self.since_best = 0
        self._best_parameters = None

    def add(self, epoch, record, parameters=()):
        """Keep ``epoch``'s record; True when it is a new best epoch."""
        self.records.append(record)
        accuracy = record.get("val_accuracy")
        if accuracy is None:
            return False
        if not improves(accuracy, self.best_accuracy):
            self.since_best += 1
            return False
        self.since_best = 0 if rises(accuracy, self.best_accuracy) else self.since_best + 1
        self.best_accuracy, self.best_epoch, self.best_record = accuracy, epoch, record
        if self.restore_best:
            self._best_parameters = [p.copy() for p in parameters]
        return True

    def patience_ran_out(self):
        """True when ``patience`` measured epochs have passed without the best
        accuracy rising."""
        return (self.patience is not None and self.best_epoch is not None
                and self.since_best >= self.patience)

    def restore(self, parameters):
        """Put the best epoch's parameters back (with ``restore_best``)."""
        if self._best_parameters is not None:
            for p, saved in zip(parameters, self._best_parameters):
                p[...] = saved


def run(engine, epochs, schedule, after_epoch=None, on_progress=None, early_stopping=None,
        restore_best=False, first_epoch=0, on_record=None):
    """Train ``engine`` for up to ``epochs`` epochs, numbered from
    ``first_epoch`` (a network trained before goes on counting: a schedule
    ``epoch -> eta`` and the records see the epochs of all its training).

    ``engine`` has ``batches`` (mini-batches per epoch), ``begin_epoch(epoch)``,
    ``train(first, count, eta)`` (mini-batches ``first .. first+count-1`` of
    this epoch), ``parameters()`` (its arrays, updated in place) and
    ``parameter_names()`` (what to call them in messages).
    ``schedule`` is an ``optimizers.Schedule``.  ``after_epoch(epoch, eta)``
    returns the epoch's record (a dict; ``val_accuracy`` in it drives the
    best epoch, the schedule and early stopping; None: a record of
    ``epoch`` and ``eta`` only) or ``False`` to stop; it may raise
    ``StopTraining``.  ``on_record(epoch, record, new_best)`` is called once
    the record is kept, with ``new_best`` True when the epoch is a new best,
    before the stopping tests.  ``on_progress(done, total)``
    is called after each chunk.  ``early_stopping`` is None or the number of
    epochs without a new best validation accuracy after which training
    stops; with ``restore_best`` the parameters of the best epoch are put
    back at the end.

    Returns the call's ``Tracker``: the records, the best epoch, the epochs
    run.  Raises TrainingDiverged, naming the epoch, when the parameters
    stop being finite.
    """
    tracker = Tracker(early_stopping, restore_best)
    count = 1   # the chunk size carries over: later epochs start at the rate measured
    with one_blas_thread():
        for epoch in range(first_epoch, first_epoch + epochs):
            eta = schedule.at(epoch)
            engine.begin_epoch(epoch)
            total = engine.batches
            done = 0
            while done < total:
                n = min(count, total - done)
                started = time.perf_counter()
                engine.train(done, n, eta)
                elapsed = time.perf_counter() - started
                check_finite_parameters(engine, epoch)
                done += n
                if on_progress is not None:
                    on_progress(done, total)
                count = next_chunk(count, n, elapsed)
            tracker.epochs_run = epoch + 1 - first_epoch
            try:
                record = after_epoch(epoch, eta) if after_epoch is not None else None
            except StopTraining:
                break
            if record is False:
                break
            if not isinstance(record, dict):
                record = {"epoch": epoch, "eta": eta}
            new_best = tracker.add(epoch, record, engine.parameters())
            if on_record is not None:
                on_record(epoch, record, new_best)
            if schedule.observe(record.get("val_accuracy")):
                break
            if tracker.patience_ran_out():
                break
    tracker.restore(engine.parameters())
    return tracker


def next_chunk(count, n, elapsed):
    """The next chunk's size in mini-batches: about ``CHUNK_SECONDS`` of work
    at the rate just measured (``n`` mini-batches in ``elapsed`` seconds; ``n``
    is below the planned ``count`` at the end of an epoch), growing at most
    fourfold over ``count`` per call."""
    if elapsed <= 0:
        return count * 4
    return max(1, min(count * 4, int(n * CHUNK_SECONDS / elapsed)))


def check_finite_parameters(engine, epoch):
    """TrainingDiverged, naming the epoch and the array, when a parameter of
    ``engine`` is NaN or infinite."""
    for p, name in zip(engine.parameters(), engine.parameter_names()):
        if not np.isfinite(p).all():
            raise TrainingDiverged(
                "training diverged in epoch {}: {} became NaN or infinite "
                "(is the learning rate eta too large?)".format(epoch, name))


def check_not_diverged(weights, biases, epoch):
    """``check_finite_parameters`` for a fully connected network's arrays."""
    check_finite_parameters(_DenseParameters(weights, biases), epoch)


def warn_if_saturated(outputs, epoch, what):
    """Warn when every output of every example sits at 0 or 1: the network has
    saturated (the learning rate is far too large) and learns nothing more,
    although nothing became NaN."""
    if outputs.size and np.all((outputs < 1e-4) | (outputs > 1 - 1e-4)):
        warnings.warn("epoch {}: every output neuron is saturated (0 or 1) for every example "
                      "of the {}; the learning rate is probably far too large".format(epoch, what),
                      RuntimeWarning, stacklevel=3)


def warn_if_one_answer(outputs, labels, epoch, what, warned):
    """Warn when the network's output no longer depends on its input: every
    example of ``what`` gets the same output (so the same class, although
    ``labels`` hold several), its accuracy sits at chance and it learns
    nothing more (every ReLU dead after too large a learning rate, say),
    though nothing became NaN.  A network that is merely slow to start
    still answers its inputs differently, so it is not warned about.  Once
    per training call: ``warned`` is a list the call keeps, appended to
    when the warning is given."""
    if warned or len(outputs) < 2 or outputs.ndim != 2 or outputs.shape[1] < 2:
        return
    if np.all(np.abs(outputs - outputs[0]) <= 1e-12) and np.any(labels != labels[0]):
        warned.append(epoch)
        warnings.warn("epoch {}: the network gives every example of the {} the same output, so "
                      "the same class ({}): it no longer depends on its input and its accuracy "
                      "is at chance; the learning rate is probably far too large".format(
                          epoch, what, int(np.argmax(outputs[0]))), RuntimeWarning, stacklevel=3)


#: A mean log-likelihood this many times that of guessing every class
#: equally is a diverged network, NaN or not.
DIVERGED_COST_FACTOR = 100.0


def warn_if_cost_diverged(cost, n_classes, epoch, warned):
    """Warn when the mean log-likelihood ``cost`` of an epoch is more than
    ``DIVERGED_COST_FACTOR`` times ``ln(n_classes)``, the cost of guessing
    every class equally: the network diverged (its accuracy sits at chance)
    although nothing became NaN.  Once per training call: ``warned`` is a
    list the call keeps, appended to when the warning is given."""
    chance = np.log(n_classes) if n_classes > 1 else 0.0
    if warned or not chance or not cost > DIVERGED_COST_FACTOR * chance:
        return
    warned.append(epoch)
    from ._validation import outside_fastnn
    warnings.warn("epoch {}: the training cost is {:.3g}, {:.3g} times that of guessing every "
                  "class equally ({:.3g}): training has diverged although nothing became NaN; "
                  "the learning rate is probably far too large".format(
                      epoch, cost, cost / chance, chance), RuntimeWarning,
                  stacklevel=outside_fastnn())


def one_blas_thread():
    """Keep BLAS to one thread while training.

    A mini-batch's matrix products are small: threads only add
    synchronisation, and on a busy machine a threaded BLAS waiting for a
    descheduled partner made an epoch of mini-batches of 100 some 25 times
    slower.  Applies to both backends, so their comparison is like for like.
    """
    return _blaslimit.one_blas_thread()


# -- the engine of fully connected networks --------------------------------------

class _DenseParameters(object):
    """A fully connected network's weights and biases, named for messages."""

    def __init__(self, weights, biases):
        self.weights, self.biases = weights, biases

    def parameters(self):
        return self.weights + self.biases

    def parameter_names(self):
        return (["the weights of layer {}".format(l + 1) for l in range(len(self.weights))] +
                ["the biases of layer {}".format(l + 1) for l in range(len(self.biases))])


class DenseEngine(_DenseParameters):
    """A fully connected network and its training data, for ``run``: the
    ``weights``/``biases`` lists (1-D biases), ``X``/``Y`` rows, ``spec``,
    an ``optimizers.Step`` and ``next_order()`` drawing each epoch's order.

    ``num_threads`` (an attribute, 1 unless set) is how many threads the
    compiled kernels may split a mini-batch across; they use them where that
    pays (``fastnn._core._dense.threads_for``), and one in a process forked
    after its kernels ran with threads (``fastnn._threads``)."""

    num_threads = 1
    #: scikit-learn's bookkeeping, passed to the kernels when set: ``losses``,
    #: a float64 array with an entry per mini-batch of the epoch, receives
    #: each one's loss (scikit-learn's, from the kernels' own forward pass);
    #: ``sample_weight``, float64 with one weight per row of ``X``.
    losses = None
    sample_weight = None

    def __init__(self, kernels, weights, biases, X, Y, batch_size, spec, step, next_order):
        _DenseParameters.__init__(self, weights, biases)
        self.kernels = kernels
        self.X, self.Y, self.batch_size = X, Y, batch_size
        self.spec, self.step, self.next_order = spec, step, next_order
        self.batches = -(-len(X) // batch_size)
        self.order = None

    def begin_epoch(self, epoch):
        self.order = self.next_order()

    def train(self, first, count, eta):
        self.step.eta = eta
        extra = {}
        if self.losses is not None:
            extra["losses"] = self.losses[first:first + count]
        if self.sample_weight is not None:
            extra["sample_weight"] = self.sample_weight
        self.kernels.train(self.weights, self.biases, self.X, self.Y, self.order,
                           self.batch_size, self.spec, self.step, first, count,
                           num_threads=_threads.effective_threads(self.num_threads), **extra)



def sgd(kernel_module, weights, biases, X, Y, epochs, batch_size, spec, step, next_order,
        learning_rate, after_epoch=None, on_progress=None, early_stopping=None,
        restore_best=False, first_epoch=0, num_threads=1):
    """Train a fully connected network in place: ``run`` on a ``DenseEngine``
    with ``num_threads``; returns ``run``'s ``Tracker``.  ``learning_rate``
    is a Schedule or anything ``Schedule`` takes."""
    schedule = learning_rate if isinstance(learning_rate, Schedule) else Schedule(learning_rate)
    engine = DenseEngine(kernel_module, weights, biases, X, Y, batch_size, spec, step, next_order)
    engine.num_threads = num_threads
    return run(engine, epochs, schedule, after_epoch, on_progress, early_stopping, restore_best,
               first_epoch)


# -- shuffling, as the book's programs do it -------------------------------------

def python2_shuffle(x, random=random.random):
    """Shuffle list ``x`` in place exactly as Python 2.7's ``random.shuffle`` did.

    Python 3 draws each swap position with ``_randbelow``; Python 2.7 drew
    ``j = int(random() * (i+1))``.  The same seed therefore gives another
    order today, and the book's published runs need this one.
    """
    for i in reversed(range(1, len(x))):
        j = int(random() * (i+1))
        x[i], x[j] = x[j], x[i]


def book_shuffle(x):
    """Shuffle list ``x`` in place the way the drop-ins are set to (``fastnn.set_shuffle``)."""
    if get_shuffle() == "python2":
        python2_shuffle(x)
    else:
        random.shuffle(x)


def _standard_generator():
    """True when ``random.shuffle`` and ``random.random`` are still the module's
    own Mersenne Twister: then the compiled shuffle can stand in for them (a
    program that replaced either keeps its own, in Python)."""
    inst = getattr(random, "_inst", None)
    return (type(inst) is random.Random and random.shuffle == inst.shuffle
            and random.random == inst.random and random.getrandbits == inst.getrandbits)


class BookOrder(object):
    """The epoch orders of the book's ``random.shuffle(training_data)``.

    The book shuffles its list of examples in place once per epoch.  A shuffle
    consumes the random generator the same way whatever the list holds, so
    shuffling a list of row numbers instead gives the same permutation, and
    the data, converted once to an array, never moves.  ``order`` composes the
    permutations: row ``order[i]`` of the array is what the book's list holds
    at position ``i``.  ``apply_to(data)`` leaves the caller's list shuffled
    as the book's would be.
    """

    def __init__(self, n):
        self.order = np.arange(n, dtype=np.int64)

    def __call__(self):
        if _standard_generator():
            # Shuffling ``order`` itself with the book's swaps composes the
            # permutations; the compiled shuffle draws exactly what
            # random.shuffle would, and leaves the generator as it would.
            from ._core import _shuffle
            random.setstate(_shuffle.shuffle(self.order, random.getstate(),
                                             get_shuffle() == "python2"))
        else:
            perm = list(range(len(self.order)))
            book_shuffle(perm)
            self.order = self.order[perm]
        return self.order

    def apply_to(self, data):
        if type(data) is list and len(data) == len(self.order):
            from ._core import _pairs
            _pairs.permute(data, self.order)    # moves references only: 0.2 ms for 50,000
        elif isinstance(data, list) and len(data) == len(self.order):
            data[:] = [data[i] for i in self.order.tolist()]
