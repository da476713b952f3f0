"""How a mini-batch's gradient changes the parameters: the optimizers (SGD
with momentum or Nesterov momentum, Adam, AdamW), L2 and L1 regularization,
and learning-rate schedules.

An optimizer object (``SGD``, ``Adam``, ``AdamW``) holds hyper-parameters
only.  The state it needs (velocities, Adam's two moments, its step count)
belongs to the network being trained and lives in a ``Step``, which the
kernels of both backends are handed: they update the parameters and the
state in place.  Each optimizer's rule is written twice, once in numpy
(``reference_step``, here) and once in C (``fastnn/_core/_optim.pxd`` and its
loops in ``_steps.h``), operation for operation, so that the two backends
agree.

With ``G`` the gradient summed over a mini-batch of ``m`` examples, ``n`` the
size of the training set (network3: its number of mini-batches, its gradient
being a mean already, ``m = 1``), and ``eta`` the learning rate:

* the cost's regularization terms (weights only, never biases) add
  ``(l2/n) w + (l1/n) sgn(w)`` to the mean gradient ``G/m`` (sgn(0) = 0):
  ``l2`` is the book's lambda under every optimizer;
* plain SGD (the book's, chapters 1-3): ``w <- (1 - eta*l2/n) w - (eta/m) G``,
  which is the step ``-eta`` times that gradient, written as network2 writes it;
* SGD with momentum ``mu`` (chapter 3): ``d = -(eta/m) G - (eta*l2/n) w -
  (eta*l1/n) sgn(w)``, ``v <- mu v + d``, ``w <- w + v``; with
  ``nesterov=True`` the last step is ``w <- w + mu v + d`` (the form
  scikit-learn uses);
* Adam: with ``g`` the regularized mean gradient and ``t`` the number of
  steps taken (this one included), ``m1 <- b1 m1 + (1-b1) g``,
  ``m2 <- b2 m2 + (1-b2) g^2``, and ``w <- w - a m1 / (r sqrt(m2) + eps)``
  where PyTorch's form (the default) has ``a = eta/(1 - b1^t)`` and
  ``r = 1/sqrt(1 - b2^t)``, and scikit-learn's (``form="sklearn"``) folds both
  corrections into the step size, ``a = eta*sqrt(1 - b2^t)/(1 - b1^t)``,
  ``r = 1`` (PyTorch divides ``sqrt(m2)`` by ``sqrt(1 - b2^t)``; multiplying
  by the reciprocal, made once a step, saves a division a weight, which is
  what bounds this step, and differs from that quotient by about one
  rounding);
* AdamW: Adam, with the weights first shrunk by ``1 - eta*weight_decay``
  (decoupled weight decay; biases are not decayed).

The state arrays are kept normal: a value that decays into the subnormal
range (a velocity on a weight whose gradient is almost always zero) is set
to zero, in both backends, since arithmetic on subnormals is many times
slower and would make late epochs slower than early ones.

A ``Step`` can also carry ``alpha``, scikit-learn's L2 strength, which is
divided by each mini-batch's size instead of the training set's: its term
in the gradient is ``(alpha/m) w``.
"""
import numbers

import numpy as np

from ._best import rises
from ._validation import check_eta, check_real


# -- the optimizers --------------------------------------------------------------

class Optimizer(object):
    """What every optimizer has: a ``name``, the kernels' ``code`` for it, its
    ``default_learning_rate``, the number of state arrays it keeps per
    parameter array (``n_state``), the scalars its C step reads
    (``kernel_scalars``) and its numpy step (``reference_step``)."""

    name = None
    code = None
    default_learning_rate = None

    def n_state(self):
        return 0

    def kernel_scalars(self):
        return {}

    def plain(self, step):
        """True when the step is the book's plain SGD, which the kernels fuse
        into the weight gradient's matrix product."""
        return False

    def begin(self, step, m):
        """The scalars of the next mini-batch step (of ``m`` examples), as a
        dict: the numpy twin of ``_optim.step_begin``.  Advances ``step.t``."""
        raise NotImplementedError

    def reference_step(self, w, g, state, step, k, regularize):
        raise NotImplementedError

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self):
        return hash((type(self).__name__,) + tuple(sorted(vars(self).items())))

    def __repr__(self):
        return "{}({})".format(type(self).__name__, ", ".join(
            "{}={!r}".format(k, v) for k, v in vars(self).items()))


class SGD(Optimizer):
    """Mini-batch stochastic gradient descent, the book's optimizer.

    Parameters
    ----------
    momentum : float in [0, 1)
        Chapter 3's momentum coefficient mu: ``v <- mu v - eta grad C``,
        ``w <- w + v``.  0 (the default) is plain SGD, bit for bit the book's.
    nesterov : bool
        Step by ``mu v - eta grad C`` after the same update of ``v``
        (Nesterov's momentum, in the form scikit-learn writes it).
    """

    name = "sgd"
    code = 0
    default_learning_rate = 0.5

    def __init__(self, momentum=0.0, nesterov=False):
        self.momentum = check_momentum(momentum)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError("nesterov must be True or False, not {!r}".format(nesterov))
        self.nesterov = bool(nesterov)

    def n_state(self):
        return 1 if self.momentum > 0 else 0

    def kernel_scalars(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def plain(self, step):
        return self.momentum == 0 and step.l1 == 0

    def begin(self, step, m):
        step.t += 1
        eta, n = step.eta, step.n
        return {"s": eta/m, "decay": eta*(step.l2/n + step.alpha/m), "l1": eta*(step.l1/n)}

    def reference_step(self, w, g, state, step, k, regularize):
        s, decay, l1 = k["s"], k["decay"], k["l1"]
        if self.plain(step):
            if regularize:
                w[...] = (1-decay)*w - s*g
            else:
                w[...] = w - s*g
            return
        if regularize and (decay or l1):
            d = -s*g - decay*w - l1*np.sign(w)
        else:
            d = -s*g
        if state:
            v, = state
            mu = self.momentum
            v[...] = normal_or_zero(mu*v + d)
            w[...] = w + (mu*v + d if self.nesterov else v)
        else:
            w[...] = w + d


class Adam(Optimizer):
    """Adam (Kingma and Ba): steps scaled by running averages of the gradient
    and of its square.

    Parameters
    ----------
    betas : pair of floats in [0, 1)
        The decay rates of the two running averages.
    eps : float > 0
        Added to the denominator, for steps where the squared gradient's
        average is near zero.
    form : ``"torch"`` (default) or ``"sklearn"``
        ``"torch"`` is ``torch.optim.Adam``'s arithmetic (the bias corrections
        applied to the step size and to ``sqrt(m2)``); ``"sklearn"`` is
        scikit-learn's MLP solver, which folds both corrections into the step
        size and adds ``eps`` to the uncorrected ``sqrt(m2)``.

    The learning rate (``learning_rate=``, 1e-3 by default) is the step size.
    ``l2``/``l1`` add their terms to the gradient, as in PyTorch's coupled
    ``weight_decay``; ``AdamW`` decays the weights apart from the gradient.
    """

    name = "adam"
    code = 1
    default_learning_rate = 1e-3

    def __init__(self, betas=(0.9, 0.999), eps=1e-8, form="torch"):
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError("betas must be a pair (beta1, beta2), not {!r}".format(betas))
        self.betas = tuple(check_beta(b, "betas[{}]".format(i)) for i, b in enumerate(betas))
        self.eps = check_real(eps, "eps")
        if not self.eps > 0:
            raise ValueError("eps must be > 0, got {}".format(self.eps))
        if form not in ("torch", "sklearn"):
            raise ValueError("form must be 'torch' or 'sklearn', not {!r}".format(form))
        self.form = form

    weight_decay = 0.0

    def n_state(self):
        return 2

    def kernel_scalars(self):
        return {"beta1": self.betas[0], "beta2": self.betas[1], "eps": self.eps,
                "weight_decay": self.weight_decay, "folded": self.form == "sklearn"}

    def begin(self, step, m):
        step.t += 1
        b1, b2 = self.betas
        bc1 = 1 - b1**float(step.t)
        bc2 = 1 - b2**float(step.t)
        if self.form == "sklearn":
            a, r = step.eta*np.sqrt(bc2)/bc1, 1.0
        else:
            a, r = step.eta/bc1, 1.0/np.sqrt(bc2)
        return {"s": 1.0/m, "a": float(a), "r": float(r), "l2": step.l2/step.n + step.alpha/m,
                "l1": step.l1/step.n, "keep": 1 - step.eta*self.weight_decay}

    def reference_step(self, w, g, state, step, k, regularize):
        m1, m2 = state
        b1, b2 = self.betas
        g = g*k["s"]
        if regularize and (k["l2"] or k["l1"]):
            g = g + k["l2"]*w + k["l1"]*np.sign(w)
        if regularize and self.weight_decay:
            w[...] = w*k["keep"]
        m1[...] = normal_or_zero(b1*m1 + (1-b1)*g)
        m2[...] = normal_or_zero(b2*m2 + (1-b2)*(g*g))
        w[...] = w - (k["a"]*m1)/(k["r"]*np.sqrt(m2) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as
    ``torch.optim.AdamW``: each step first shrinks the weights by
    ``1 - learning_rate*weight_decay``, then takes Adam's step.  Biases are
    not decayed.  ``weight_decay`` must be >= 0."""

    name = "adamw"

    def __init__(self, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, form="torch"):
        Adam.__init__(self, betas, eps, form)
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")


#: The optimizers by the names ``optimizer=`` takes.
OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def get(optimizer=None, momentum=0.0):
    """The optimizer object for what a caller gave: None (plain SGD, or SGD
    with ``momentum``), a name (``"sgd"``, ``"adam"``, ``"adamw"``) or an
    ``Optimizer``.  A non-zero ``momentum`` goes only with None or
    ``"sgd"``: it is the shortcut for ``SGD(momentum=...)``."""
    momentum = check_momentum(momentum)
    if optimizer is None or (isinstance(optimizer, str) and optimizer.lower() == "sgd"):
        return SGD(momentum=momentum)
    if isinstance(optimizer, str):
        try:
            cls = OPTIMIZERS[optimizer.lower()]
        except KeyError:
            raise ValueError("optimizer must be one of {} or an optimizer object "
                             "(fastnn.SGD, fastnn.Adam, fastnn.AdamW), not {!r}".format(
                                 ", ".join(repr(k) for k in OPTIMIZERS), optimizer)) from None
        optimizer = cls()
    elif not isinstance(optimizer, Optimizer):
        raise TypeError("optimizer must be a name ({}) or a fastnn optimizer "
                        "(fastnn.SGD, fastnn.Adam, fastnn.AdamW), not {} (optimizers of "
                        "other libraries do not drive fastnn's kernels)".format(
                            ", ".join(repr(k) for k in OPTIMIZERS),
                            type(optimizer).__module__ + "." + type(optimizer).__name__))
    if momentum:
        raise ValueError("momentum={} goes with the default optimizer; with an optimizer "
                         "given, set its own momentum (fastnn.SGD(momentum={}))".format(
                             momentum, momentum))
    return optimizer


def to_dict(optimizer):
    """A JSON-ready description of ``optimizer`` (``from_dict`` reads it)."""
    d = {"name": optimizer.name}
    d.update({k: list(v) if isinstance(v, tuple) else v for k, v in vars(optimizer).items()})
    return d


def from_dict(d, what="optimizer"):
    """The optimizer ``to_dict`` described, or a ValueError naming ``what``."""
    if not isinstance(d, dict) or d.get("name") not in OPTIMIZERS:
        raise ValueError("{}: not a saved optimizer: {!r}".format(what, d))
    kwargs = {k: v for k, v in d.items() if k != "name"}
    try:
        return OPTIMIZERS[d["name"]](**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError("{}: {}".format(what, exc)) from None


# -- a network's optimizer state ---------------------------------------------------

class Step(object):
    """One network's optimizer: its settings and state, which the kernels of
    both backends read and update.

    ``eta`` is the learning rate (set each epoch by the trainer), ``n`` the
    training set's size, ``l2``/``l1`` the regularization strengths, ``alpha``
    scikit-learn's L2 strength (divided by the mini-batch size),
    ``optimizer`` an ``Optimizer`` (None: ``SGD(momentum)``), ``t`` the
    number of steps taken.  ``state`` is None, or one tuple per layer of
    ``2*optimizer.n_state()`` arrays, ``(w_0, b_0, w_1, b_1, ...)``, each
    shaped like the layer's weights (``w_k``) or biases (``b_k``):
    SGD with momentum keeps ``(vw, vb)``, Adam ``(m1w, m1b, m2w, m2b)``.
    ``Step.for_parameters`` makes them, zero.  ``velocities`` is ``state``
    under chapter 3's name.
    """

    def __init__(self, eta, n, l2=0.0, l1=0.0, momentum=0.0, velocities=None, optimizer=None,
                 state=None, t=0, alpha=0.0):
        self.eta = eta
        self.n = n
        self.l2 = l2
        self.l1 = l1
        self.alpha = alpha
        self.optimizer = SGD(momentum) if optimizer is None else optimizer
        self.state = velocities if state is None else state
        self.t = t

    @classmethod
    def for_parameters(cls, parameters, n, l2=0.0, l1=0.0, momentum=0.0, optimizer=None,
                       alpha=0.0):
        """A Step for ``parameters``, a list of ``(w, b)`` pairs, with the
        optimizer's state arrays for each, zero."""
        l2 = check_nonnegative(l2, "l2")
        l1 = check_nonnegative(l1, "l1")
        alpha = check_nonnegative(alpha, "alpha")
        optimizer = get(optimizer, momentum)
        k = optimizer.n_state()
        state = None
        if k:
            state = [tuple(np.zeros_like(p) for _ in range(k) for p in (w, b))
                     for w, b in parameters]
        return cls(None, n, l2, l1, optimizer=optimizer, state=state, alpha=alpha)

    @property
    def momentum(self):
        return getattr(self.optimizer, "momentum", 0.0)

    @property
    def velocities(self):
        return self.state

    @property
    def plain(self):
        return self.optimizer.plain(self)

    def check_dtype(self, dtype, name="eta"):
        """Refuse a learning rate (the argument ``name``) whose step overflows
        ``dtype``: float32 turns 1e100 into inf."""
        largest = float(np.finfo(dtype).max)
        for what, value in ((name, self.eta), (name + "*l2/n", self.eta * (self.l2 / self.n)),
                            (name + "*l1/n", self.eta * (self.l1 / self.n))):
            if abs(value) > largest:
                raise ValueError("{} = {:g} does not fit in {} (largest {:g}): {} is far too "
                                 "large".format(what, value, np.dtype(dtype).name, largest, name))

    def state_dict(self):
        """The state as plain data: ``t`` and the arrays, layer by layer."""
        return {"t": int(self.t),
                "arrays": [[a.copy() for a in layer] for layer in (self.state or [])]}

    def load_state(self, saved, what="optimizer state"):
        """Put back ``state_dict()``'s arrays, checking that they fit this
        step's (shapes and count); a ValueError naming ``what`` if not."""
        arrays = saved.get("arrays") if isinstance(saved, dict) else None
        t = saved.get("t") if isinstance(saved, dict) else None
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0 \
                or not isinstance(arrays, list):
            raise ValueError("{}: not a saved optimizer state".format(what))
        mine = self.state or []
        if len(arrays) != len(mine):
            raise ValueError("{}: {} layers of state, this {} keeps {}".format(
                what, len(arrays), type(self.optimizer).__name__, len(mine)))
        for l, (saved_layer, layer) in enumerate(zip(arrays, mine)):
            if len(saved_layer) != len(layer):
                raise ValueError("{}: layer {} has {} arrays, expected {}".format(
                    what, l, len(saved_layer), len(layer)))
            for i, (a, b) in enumerate(zip(saved_layer, layer)):
                a = np.asarray(a)
                if a.shape != b.shape:
                    raise ValueError("{}: layer {} array {} has shape {}, expected {}".format(
                        what, l, i, a.shape, b.shape))
                if a.dtype.kind != "f" or not np.isfinite(a).all():
                    raise ValueError("{}: layer {} array {} is not finite floats".format(what, l, i))
        for saved_layer, layer in zip(arrays, mine):
            for a, b in zip(saved_layer, layer):
                b[...] = a
        self.t = int(t)


def continue_step(previous, parameters, n, l2=0.0, l1=0.0, optimizer=None):
    """The Step a new fit of a network trains with: ``previous`` (the last
    fit's, or None) with its state when it is the same ``optimizer`` and its
    arrays still fit ``parameters`` (a list of ``(w, b)`` pairs), else a
    fresh one with zero state; either way with this fit's ``n``, ``l2`` and
    ``l1``."""
    optimizer = get(optimizer)
    fits = previous is not None and previous.optimizer == optimizer and all(
        a.shape == p.shape and a.dtype == p.dtype
        for layer, pair in zip(previous.state or [], parameters)
        for a, p in zip(layer, pair * optimizer.n_state()))
    if not fits:
        return Step.for_parameters(parameters, n, l2, l1, optimizer=optimizer)
    previous.n = n
    previous.l2 = check_nonnegative(l2, "l2")
    previous.l1 = check_nonnegative(l1, "l1")
    return previous


def training_state(step, rng):
    """A JSON-ready record of how a network was being trained: its optimizer,
    the optimizer's state (``Step.state_dict``, arrays as nested lists) and
    the state of its generator ``rng`` (shuffling, dropout)."""
    return {"optimizer": None if step is None else to_dict(step.optimizer),
            "state": None if step is None else {
                "t": int(step.t), "arrays": [[a.tolist() for a in layer] for layer in step.state or []]},
            "rng": rng.bit_generator.state}


def load_training_state(saved, parameters):
    """``(step, rng)`` from ``training_state``'s record, checked against
    ``parameters`` (a list of ``(w, b)`` pairs); ValueError naming what is wrong."""
    if not isinstance(saved, dict):
        raise ValueError("expected an object")
    rng = np.random.default_rng()
    try:
        rng.bit_generator.state = saved.get("rng")
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError("rng: not a {} state ({})".format(type(rng.bit_generator).__name__, exc)) from None
    if saved.get("optimizer") is None:
        return None, rng
    step = Step.for_parameters(parameters, 1, optimizer=from_dict(saved["optimizer"]))
    state = saved.get("state")
    if not isinstance(state, dict) or not isinstance(state.get("arrays"), list):
        raise ValueError("state: expected the optimizer's t and arrays")
    arrays = []
    for l, layer in enumerate(state["arrays"]):
        if not isinstance(layer, list):
            raise ValueError("state: layer {} is not a list of arrays".format(l))
        try:
            arrays.append([np.array(a, dtype=np.float64) for a in layer])
        except (TypeError, ValueError):
            raise ValueError("state: layer {} holds something other than arrays of "
                             "numbers".format(l)) from None
    step.load_state({"t": state.get("t"), "arrays": arrays}, "state")
    return step, rng


def apply(w, g, state, step, m, regularize, scalars=None):
    """The step of ``w`` (in place) from its summed gradient ``g`` over ``m``
    examples; ``state`` is its tuple of state arrays (empty without state).
    ``scalars`` are the mini-batch's (``step.optimizer.begin``), which one
    mini-batch shares across all its arrays.  The numpy twin of
    ``_optim.param_step``, operation for operation."""
    if scalars is None:
        scalars = step.optimizer.begin(step, m)
    step.optimizer.reference_step(w, g, tuple(state), step, scalars, regularize)


def layer_state(step, l):
    """The state arrays of layer ``l``: ``(weights' arrays, biases' arrays)``."""
    if not step.state:
        return (), ()
    layer = step.state[l]
    return layer[0::2], layer[1::2]


def normal_or_zero(x):
    """``x`` with its subnormal entries set to zero (NaN stays NaN): the
    optimizers' decaying state is flushed so, in both backends alike, since
    steps on subnormal numbers run many times slower (the compiled twin is
    ``FASTNN_NORMAL_OR_ZERO`` in ``_core/_steps.h``)."""
    return np.where(np.abs(x) < np.finfo(x.dtype).tiny, 0, x)


def check_nonnegative(value, name):
    value = check_real(value, name)
    if value < 0:
        raise ValueError("{} must be >= 0, got {}".format(name, value))
    return value


def check_momentum(momentum):
    momentum = check_real(momentum, "momentum")
    if not 0 <= momentum < 1:
        raise ValueError("momentum must be in [0, 1), got {}".format(momentum))
    return momentum


def check_beta(beta, name):
    beta = check_real(beta, name)
    if not 0 <= beta < 1:
        raise ValueError("{} must be in [0, 1), got {}".format(name, beta))
    return beta


# -- learning-rate schedules ---------------------------------------------------

class HalveOnPlateau(object):
    """Chapter 3's schedule: halve the learning rate each time the validation
    accuracy has not improved for ``patience`` epochs (an epoch that ties
    the best counts as an improvement, as everywhere in fastnn), and stop
    training once
    it has fallen to ``min_fraction`` of its start (1/128: seven halvings).

    Pass it as ``learning_rate``, with the starting rate:
    ``HalveOnPlateau(patience=10).starting_at(0.5)``, or give the start with
    ``eta=`` here.  Training with it needs validation data.
    """

    def __init__(self, patience=10, min_fraction=1/128, eta=None):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 1:
            raise ValueError("patience must be a whole number >= 1, not {!r}".format(patience))
        min_fraction = check_real(min_fraction, "min_fraction")
        if not 0 < min_fraction < 1:
            raise ValueError("min_fraction must be in (0, 1), not {}".format(min_fraction))
        self.patience = int(patience)
        self.min_fraction = min_fraction
        self.start = None if eta is None else check_learning_rate_value(eta, "eta")

    def starting_at(self, eta):
        return HalveOnPlateau(self.patience, self.min_fraction, eta)

    def __repr__(self):
        return "HalveOnPlateau(patience={}, min_fraction={!r}, eta={!r})".format(
            self.patience, self.min_fraction, self.start)


class Schedule(object):
    """The learning rate, epoch by epoch, from what the caller gave: a number,
    a callable ``epoch -> eta``, or a ``HalveOnPlateau``.  ``observe`` takes
    each epoch's validation accuracy and says whether the schedule ends
    training."""

    def __init__(self, learning_rate, name="learning_rate", default_start=None, first_epoch=0):
        self.name = name
        self.plateau = None
        self.fn = None
        if isinstance(learning_rate, HalveOnPlateau):
            self.plateau = learning_rate
            start = learning_rate.start if learning_rate.start is not None else default_start
            if start is None:
                raise ValueError("{}: HalveOnPlateau needs its starting rate, e.g. "
                                 "HalveOnPlateau(patience=10, eta=0.5)".format(name))
            self.eta = self.start = check_learning_rate_value(start, name)
            self.best = None
            self.since_best = 0
        elif callable(learning_rate):
            self.fn = learning_rate
            self.eta = self.at(first_epoch)
        else:
            self.eta = check_learning_rate_value(learning_rate, name)

    @property
    def needs_validation(self):
        return self.plateau is not None

    def state_dict(self):
        """What a later ``fit`` needs to go on where this one stopped: the
        plateau schedule's current rate and its count (None for the others)."""
        if self.plateau is None:
            return None
        return {"patience": self.plateau.patience, "min_fraction": self.plateau.min_fraction,
                "start": self.start, "eta": self.eta, "best": self.best,
                "since_best": self.since_best}

    def load_state(self, saved):
        """Go on from ``state_dict()`` when it is the same plateau schedule
        (patience, floor and starting rate); otherwise start afresh."""
        if self.plateau is None or not isinstance(saved, dict):
            return
        if (saved.get("patience"), saved.get("min_fraction"), saved.get("start")) != \
                (self.plateau.patience, self.plateau.min_fraction, self.start):
            return
        eta, best, since = saved.get("eta"), saved.get("best"), saved.get("since_best")
        self.eta = check_learning_rate_value(eta, "the saved schedule's eta")
        if best is not None:
            best = check_real(best, "the saved schedule's best accuracy")
        if isinstance(since, bool) or not isinstance(since, numbers.Integral) or since < 0:
            raise ValueError("the saved schedule's count must be a whole number >= 0, not "
                             "{!r}".format(since))
        self.best, self.since_best = best, int(since)

    def at(self, epoch):
        """The learning rate of ``epoch``."""
        if self.fn is not None:
            try:
                value = self.fn(epoch)
            except Exception as exc:
                raise ValueError("{}({}) raised {}: {}".format(
                    self.name, epoch, type(exc).__name__, exc)) from exc
            return check_learning_rate_value(value, "{}({})".format(self.name, epoch))
        return self.eta

    def observe(self, accuracy):
        """After an epoch: returns True when the schedule stops training."""
        if self.plateau is None or accuracy is None:
            return False
        if rises(accuracy, self.best):     # patience's rule (fastnn._best): a tie is no progress
            self.best, self.since_best = accuracy, 0
            return False
        self.since_best += 1
        if self.since_best >= self.plateau.patience:
            self.eta /= 2
            self.since_best = 0
        return self.eta <= self.start * self.plateau.min_fraction


def check_learning_rate_value(value, name):
    """A learning rate: a finite number >= 0 (``_validation.check_eta``)."""
    if isinstance(value, np.bool_):
        value = bool(value)
    return check_eta(value, name)
