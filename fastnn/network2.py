"""Drop-in for the book's chapter 3 module ``network2``.

Its ``Network`` adds to ``network``'s a choice of cost (cross-entropy unless
told otherwise), an L2 penalty ``lmbda``, weights scaled by the square root
of their fan-in, per-epoch monitors of cost and accuracy, and ``save`` and
``load``.  Names, signatures, defaults, return values, printed lines and
random draws are the book's, and saved files move between the book's program
and this module both ways.  The arithmetic runs in fastnn's compiled kernels
(``backend="cython"``, the default) or its numpy reference
(``backend="numpy"``), a mini-batch at a time.

Overriding a method named in ``Network._book_methods``, rebinding this
module's ``sigmoid`` or ``sigmoid_prime``, or giving the compiled backend a
cost it lacks moves the network to the per-example book path of
:mod:`fastnn._book`, announced once by a ``BookPathWarning``.
"""
import numbers

import numpy as np

from . import _serialize, trainer
from ._book import BookNetwork, given
from ._validation import (check_epochs, check_eta, check_flag, check_lmbda, check_positive_int,
                          check_real, one_hot)
# Exported under the book's names; rebinding sigmoid or sigmoid_prime here is
# noticed (see _book), and programs name the costs as network2.QuadraticCost.
from .activations import sigmoid, sigmoid_prime  # noqa: F401
from .costs import CODES, CrossEntropyCost, QuadraticCost, cost_class, kernel_code  # noqa: F401


class Network(BookNetwork):
    """Sigmoid neurons in fully connected layers, trained on a cost class
    of the caller's choice with optional L2 regularization."""

    #: The methods whose override moves training to the book path.
    _book_methods = ("feedforward", "update_mini_batch", "backprop", "accuracy",
                     "total_cost")

    def __init__(self, sizes, cost=CrossEntropyCost, backend=None):
        """A network with ``sizes[i]`` neurons in layer ``i`` (layer 0: the
        inputs), trained on ``cost``: a class with static methods ``fn`` and
        ``delta``, such as ``CrossEntropyCost`` or ``QuadraticCost``, or an
        instance of one, as the book's scripts pass either; ``self.cost``
        keeps what was given.  Something without ``fn`` and ``delta`` raises
        TypeError now rather than during training.  The starting parameters
        are drawn by ``default_weight_initializer``.  ``backend`` is
        ``"cython"``, ``"numpy"`` or ``None``, which defers to
        ``fastnn.set_backend`` at each call."""
        super().__init__(sizes, backend)
        cost_class(cost)   # a clear error now rather than mid-training
        self.cost = cost
        self.default_weight_initializer()

    def default_weight_initializer(self):
        """Replace ``weights`` and ``biases`` with fresh draws from
        ``np.random.randn``, every bias column first and then every weight
        matrix (the book's order, so a seeded program gets the book's
        arrays).  Biases are N(0, 1); each weight matrix is N(0, 1) divided
        by the square root of its number of columns, the size of the layer
        feeding it."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)/np.sqrt(x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def large_weight_initializer(self):
        """Replace ``weights`` and ``biases`` with unscaled N(0, 1) draws from
        ``np.random.randn``, biases first: how ``network.Network`` starts.
        Kept so the two starts can be compared; training usually goes better
        from ``default_weight_initializer``'s."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def feedforward(self, a):
        """The output activations for ``a``: a (sizes[0], 1) input column
        gives a (sizes[-1], 1) column, several columns side by side as many
        outputs.  Reads ``weights`` and ``biases`` as they are at the call."""
        if self._book_mode():
            return self._book_feedforward(a)
        return self._feedforward(a)

    def _cost(self):
        return cost_class(self.cost)

    def _cost_change(self):
        """A cost the compiled kernels lack sends the network down the book
        path.  The numpy backend keeps its batched path for it: that path
        calls the class's own ``fn`` and ``delta`` (on a mini-batch of rows,
        which for costs summed over examples, as the book's are, gives the
        book's numbers)."""
        cost = self._cost()
        if cost in CODES or self._kernels() is trainer.kernels("numpy"):
            return None
        return "the cost {} is not built into the compiled kernels".format(cost.__name__)

    def _spec(self):
        return trainer.Spec("sigmoid", "sigmoid", self._cost())

    def SGD(self, training_data, epochs, mini_batch_size, eta,
            lmbda = 0.0,
            evaluation_data=None,
            monitor_evaluation_cost=False,
            monitor_evaluation_accuracy=False,
            monitor_training_cost=False,
            monitor_training_accuracy=False,
            early_stopping_n=0):
        """Run ``epochs`` epochs of mini-batch gradient descent with rate
        ``eta`` and L2 strength ``lmbda``.  ``training_data`` is a list of
        ``(x, y)`` pairs, ``x`` a (sizes[0], 1) input column and ``y`` its
        (sizes[-1], 1) target column.  Every epoch shuffles that list in
        place (as ``random.shuffle`` does, or as Python 2.7 did after
        ``fastnn.set_shuffle("python2")``) and steps on consecutive slices of
        ``mini_batch_size`` pairs, each step first shrinking every weight by
        ``1 - eta*lmbda/n`` with ``n = len(training_data)``.

        After each epoch the ``monitor_*`` flags that are set measure the
        network as it then is: ``total_cost`` (L2 term included) and
        ``accuracy`` on ``evaluation_data`` (a list of input column and
        integer label pairs) and on the training data.  Each figure is
        printed on its line and kept.  Returns ``(evaluation_cost,
        evaluation_accuracy, training_cost, training_accuracy)``: four lists
        with one figure per epoch, a list staying empty when its flag is
        off.  An evaluation flag without ``evaluation_data`` raises
        ValueError.

        On the kernels the lists become arrays once per call, the epochs run
        many mini-batches per kernel call, and the monitors take one forward
        pass over each data set they measure.  A weight or bias that turns NaN or
        infinite raises ``fastnn.TrainingDiverged`` naming the epoch.

        ``early_stopping_n`` is the argument of the widely read Python 3 port
        of the book's code (DeepLearningPython), with its meaning: when it is
        above 0, the accuracy measured last in an epoch (on the evaluation
        data when ``monitor_evaluation_accuracy`` is set, else on the
        training data) is compared with the best so far, and training stops,
        returning the four lists, once it has failed to beat it
        ``early_stopping_n`` epochs in a row (this is the port's own stop
        condition, the same as fastnn's patience elsewhere: an epoch that
        only ties the best does not beat it).  It needs
        one of the two
        accuracy monitors (ValueError otherwise).  The port's
        ``total_cost`` adds the L2 term once per example; this module keeps
        the book's, added once, so the costs differ from the port's where
        ``lmbda`` is not 0 while weights and accuracies agree.

        The four lists are also ``self.history`` from the start of the
        call, filled as the epochs finish: after Ctrl-C (KeyboardInterrupt)
        or ``fastnn.TrainingDiverged`` it holds the finished epochs' figures.

        More training options (momentum, early stopping on a patience with
        the best epoch restored, learning-rate schedules, other activations)
        are in ``fastnn.MLP.fit``.
        """
        monitor_evaluation = monitor_evaluation_cost or monitor_evaluation_accuracy
        if monitor_evaluation and not given(evaluation_data, "evaluation_data"):
            raise ValueError("monitor_evaluation_cost/accuracy need evaluation_data")
        lmbda = check_lmbda(lmbda)
        stop = _PortEarlyStopping(early_stopping_n, monitor_evaluation_accuracy,
                                  monitor_training_accuracy)
        # On the book path: update_mini_batch per slice, backprop per
        # example, total_cost and accuracy for the monitors, in the book's
        # order, through whatever the program changed.
        if self._book_mode():
            return self._book_sgd_monitored(
                training_data, epochs, mini_batch_size, eta, lmbda, evaluation_data,
                monitor_evaluation_cost, monitor_evaluation_accuracy,
                monitor_training_cost, monitor_training_accuracy, stop)
        cost = self._cost()
        if monitor_evaluation:
            n_data = len(evaluation_data)
            X_eval, y_eval = self._arrays(evaluation_data, "evaluation_data", "label")
        spec = self._spec()
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []
        self.history = (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy)
        warned = []         # the at-chance warning, once per call

        def monitor(j, weights, biases, training):
            kernels = self._kernels()
            print("Epoch %s training complete" % j)
            if monitor_training_cost or monitor_training_accuracy:
                X, Y = training()
                outputs = kernels.feedforward(weights, biases, X, spec)
                trainer.warn_if_saturated(outputs, j, "training data")
                trainer.warn_if_one_answer(outputs, np.argmax(Y, axis=1), j, "training data", warned)
            if monitor_training_cost:
                cost_value = self._total_cost(outputs, Y, lmbda, cost)
                training_cost.append(cost_value)
                print("Cost on training data: {}".format(cost_value))
            if monitor_training_accuracy:
                accuracy = int(np.sum(np.argmax(outputs, axis=1) == np.argmax(Y, axis=1)))
                training_accuracy.append(accuracy)
                print("Accuracy on training data: {} / {}".format(accuracy, len(X)))
            if monitor_evaluation:
                outputs = kernels.feedforward(weights, biases, X_eval, spec)
                trainer.warn_if_saturated(outputs, j, "evaluation data")
                trainer.warn_if_one_answer(outputs, y_eval, j, "evaluation data", warned)
            if monitor_evaluation_cost:
                cost_value = self._total_cost(outputs, one_hot(y_eval, self.sizes[-1], np.float64), lmbda, cost)
                evaluation_cost.append(cost_value)
                print("Cost on evaluation data: {}".format(cost_value))
            if monitor_evaluation_accuracy:
                accuracy = int(np.sum(np.argmax(outputs, axis=1) == y_eval))
                evaluation_accuracy.append(accuracy)
                print("Accuracy on evaluation data: {} / {}".format(accuracy, n_data))
            print()
            return stop.after_epoch(training_accuracy, evaluation_accuracy)

        self._train(training_data, epochs, mini_batch_size, eta, lmbda, monitor)
        return evaluation_cost, evaluation_accuracy, \
            training_cost, training_accuracy

    def _book_sgd_monitored(self, training_data, epochs, mini_batch_size, eta, lmbda,
                            evaluation_data, monitor_evaluation_cost,
                            monitor_evaluation_accuracy, monitor_training_cost,
                            monitor_training_accuracy, stop):
        """SGD on the book path: the monitors call ``self.total_cost`` and
        ``self.accuracy`` with the book's arguments, in the book's order."""
        eta = check_eta(eta)
        lmbda = check_lmbda(lmbda)
        if given(evaluation_data, "evaluation_data"):
            n_data = len(evaluation_data)
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []
        self.history = (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy)

        def monitor(j, data):
            print("Epoch %s training complete" % j)
            if monitor_training_cost:
                cost = self.total_cost(data, lmbda)
                training_cost.append(cost)
                print("Cost on training data: {}".format(cost))
            if monitor_training_accuracy:
                accuracy = self.accuracy(data, convert=True)
                training_accuracy.append(accuracy)
                print("Accuracy on training data: {} / {}".format(accuracy, len(data)))
            if monitor_evaluation_cost:
                cost = self.total_cost(evaluation_data, lmbda, convert=True)
                evaluation_cost.append(cost)
                print("Cost on evaluation data: {}".format(cost))
            if monitor_evaluation_accuracy:
                accuracy = self.accuracy(evaluation_data)
                evaluation_accuracy.append(accuracy)
                # The book computes the printed accuracy with a second call.
                print("Accuracy on evaluation data: {} / {}".format(
                    self.accuracy(evaluation_data), n_data))
            print()
            return stop.after_epoch(training_accuracy, evaluation_accuracy)

        self._book_sgd(training_data, epochs, mini_batch_size,
                       lambda mini_batch: self.update_mini_batch(
                           mini_batch, eta, lmbda, len(training_data)),
                       monitor)
        return evaluation_cost, evaluation_accuracy, \
            training_cost, training_accuracy

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """One step of gradient descent on ``mini_batch``, a list of
        ``(x, y)`` pairs with target columns: every weight is first scaled
        by ``1 - eta*lmbda/n``, ``n`` being the size of the training set the
        batch is drawn from, then every weight and bias moves against the
        batch's mean gradient of ``self.cost``, scaled by ``eta``.
        ``weights`` and ``biases`` become new arrays; those the caller held
        before keep their values."""
        if self._book_mode():
            self._book_update_mini_batch(mini_batch, eta, check_lmbda(lmbda), n)
            return
        n = check_positive_int(n, "n")
        self._update_mini_batch(mini_batch, eta, lmbda, n)

    def backprop(self, x, y):
        """``(nabla_b, nabla_w)``: the derivatives of ``self.cost`` for one
        example, input column ``x`` and target column ``y``, with respect to
        each bias and weight (the L2 term is not included); one array per
        layer after the inputs, of the shapes ``biases`` and ``weights``
        have.  The network is not changed."""
        if self._book_mode():
            return self._book_backprop(x, y, self._output_error)
        return self._backprop(x, y)

    def _output_error(self, z, a, y):
        """The output layer's delta on the book path: the cost's ``delta``.
        The book defines QuadraticCost in this module, so its ``delta`` uses
        this module's ``sigmoid_prime``; ours lives in fastnn.costs, and a
        rebinding of ``network2.sigmoid_prime`` is applied here instead."""
        if cost_class(self.cost) is QuadraticCost:
            return (a-y) * sigmoid_prime(z)
        return self.cost.delta(z, a, y)

    def accuracy(self, data, convert=False):
        """How many pairs of ``data`` the network classifies right: the
        position of the largest output activation (the first, on a tie) must
        be the pair's label.  With ``convert=False`` each target is already
        an integer label, the form of mnist_loader's validation and test
        data; with ``convert=True`` it is a one-hot column, the form of its
        training data, and its largest entry marks the label."""
        convert = check_flag(convert, "convert")
        if self._book_mode():
            if convert:
                return sum(int(np.argmax(self.feedforward(x)) == np.argmax(y)) for (x, y) in data)
            return sum(int(np.argmax(self.feedforward(x)) == y) for (x, y) in data)
        X, labels = self._arrays(data, "data", "argmax" if convert else "label")
        return self._count_correct(X, labels)

    def total_cost(self, data, lmbda, convert=False):
        """The mean of ``self.cost.fn`` over the pairs of ``data``, plus the
        L2 term ``0.5*lmbda/len(data)`` times the sum of every squared
        weight.  By default each target is a column, as in the training
        data; ``convert=True`` says they are integer labels (validation or
        test data), made into one-hot columns as wide as the output layer.
        The default form is the opposite of ``accuracy``'s."""
        if self._book_mode():
            cost = 0.0
            for x, y in data:
                a = self.feedforward(x)
                if convert:     # the book's vectorized_result, as wide as the output layer
                    y = np.eye(self.sizes[-1])[:, [y]]
                cost += self.cost.fn(a, y)/len(data)
            return cost + 0.5*(lmbda/len(data))*sum(np.linalg.norm(w)**2 for w in self.weights)
        lmbda = check_real(lmbda, "lmbda")
        if check_flag(convert, "convert"):
            X, labels = self._arrays(data, "data", "label")
            Y = one_hot(labels, self.sizes[-1], np.float64)
        else:
            X, Y = self._arrays(data, "data", "vector")
        weights, biases = self._parameters(fresh=False)
        outputs = self._kernels().feedforward(weights, biases, X, self._spec())
        return self._total_cost(outputs, Y, lmbda, cost_class(self.cost))

    def _total_cost(self, outputs, Y, lmbda, cost):
        """The book's total cost from the outputs of the whole data set:
        the mean of ``cost.fn`` over examples plus the L2 term."""
        total = cost.fn(outputs, Y)/len(Y)
        total += 0.5*(lmbda/len(Y))*sum(
            np.linalg.norm(w)**2 for w in self.weights)
        return float(total)

    def save(self, filename):
        """Write the network to ``filename`` as a JSON object with the
        book's keys (``sizes``, ``weights``, ``biases`` and the cost's class
        name), readable by the book's ``load``.  The file is written under a
        temporary name beside it and then renamed, so it is never left half
        written."""
        weights, biases = self._parameters(fresh=False)
        _serialize.save(filename, self.sizes, weights, biases,
                        cost_class(self.cost).__name__)


class _PortEarlyStopping:
    """``early_stopping_n`` as the Python 3 port of the book's code reads it,
    kept as that port's own stop condition: after each epoch, look at the
    accuracy it measured (evaluation if monitored, else training); once
    ``n`` epochs in a row have not been strictly higher than every epoch
    before them (and than 0), training stops.  As with fastnn's patience
    (``fastnn._best.rises``), an epoch that ties the highest accuracy does
    not count as an improvement.  Nothing is restored: the port keeps the
    last weights."""

    def __init__(self, n, evaluation, training):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError("early_stopping_n must be a whole number >= 0 (0: no early "
                             "stopping), not {!r}".format(n))
        self.n = int(n)
        if self.n and not (evaluation or training):
            raise ValueError("early_stopping_n={} watches an accuracy: set "
                             "monitor_evaluation_accuracy=True (or monitor_training_accuracy="
                             "True) so that there is one to watch".format(self.n))
        self.evaluation = evaluation

    def after_epoch(self, training_accuracy, evaluation_accuracy):
        """None to go on, False (the trainer's stop) when the last ``n``
        epochs raised no accuracy strictly above all before them."""
        if not self.n:
            return None
        accuracies = [0] + list(evaluation_accuracy if self.evaluation else training_accuracy)
        first_highest = accuracies.index(max(accuracies))   # the first epoch of the highest
        return False if len(accuracies) - 1 - first_highest == self.n else None


def load(filename, backend=None, cost=None):
    """A ``Network`` rebuilt from a file written by ``save``, ours or the
    book's.  The file is checked before use: incomplete JSON, arrays that do
    not fit ``sizes`` or a cost name fastnn does not know raise ValueError
    naming the problem.  A file saved with a cost class of the caller's own
    holds only its name; pass the class as ``cost=`` to load it.  ``backend``
    goes to the new network.

    A file written by ``fastnn.MLP.save`` loads when its neurons are all
    sigmoid, as network2's are; one with tanh, ReLU, linear or softmax
    neurons raises ValueError naming the activation (``fastnn.MLP.load``
    reads it).
    """
    sizes, weights, biases, cost, data = _serialize.load(filename, cost)
    # fastnn.MLP writes its layers' activations beside the book's keys; this
    # Network is sigmoid throughout, so anything else would load as the wrong
    # network and answer wrongly without a word
    for key in ("activation", "output"):
        name = data.get(key, "sigmoid")
        if name != "sigmoid":
            raise ValueError("{!r} holds a network with {} {} neurons; network2's Network has "
                             "sigmoid neurons only, so it cannot represent it: load it with "
                             "fastnn.MLP.load({!r})".format(
                                 str(filename), name if isinstance(name, str) else repr(name),
                                 "hidden" if key == "activation" else "output", str(filename)))
    # Like the book, build a network (which draws its random initial weights
    # from np.random, so seeded programs stay in step) and overwrite them.
    net = Network(sizes, cost=cost, backend=backend)
    net.weights = weights
    net.biases = biases
    return net


# Programs call it as network2.vectorized_result, as they may in the book.
from .mnist_loader import vectorized_result  # noqa: E402,F401
