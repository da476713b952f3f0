"""Drop-in for the book's chapter 1 module ``network``.

A program written for the book needs one change, ``from fastnn import
network``.  ``Network`` keeps the book's attributes (``sizes``,
``num_layers``, ``weights``, ``biases``), method signatures, printed lines
and uses of ``random`` and ``np.random``, so a seeded program starts from the
same weights, visits the examples in the same order and ends on the same
weights up to rounding.  The arithmetic is fastnn's: compiled kernels
(``backend="cython"``, the default) or the numpy reference
(``backend="numpy"``), a mini-batch at a time rather than example by example.

Overriding a method named in ``Network._book_methods``, or rebinding this
module's ``sigmoid`` or ``sigmoid_prime``, moves the network to the
per-example book path of :mod:`fastnn._book`, which calls that code where the
book's ``SGD`` would, and says so once with a ``BookPathWarning``.
"""
import numpy as np

from . import trainer
from ._book import BookNetwork, given
from ._validation import check_eta
# Exported under the book's names; rebinding them here is noticed (see _book).
from .activations import sigmoid, sigmoid_prime  # noqa: F401
from .costs import QuadraticCost


class Network(BookNetwork):
    """Sigmoid neurons in fully connected layers, trained on the quadratic
    cost."""

    #: The methods whose override moves training to the book path.
    _book_methods = ("feedforward", "update_mini_batch", "backprop", "evaluate",
                     "cost_derivative")

    def __init__(self, sizes, backend=None):
        """A network with ``sizes[i]`` neurons in layer ``i``; layer 0 holds
        the inputs, so ``sizes`` needs at least two entries.

        The starting parameters come from ``np.random.randn``, N(0, 1): first
        a (sizes[i], 1) bias column for each layer after the inputs, then a
        (sizes[i], sizes[i-1]) weight matrix for each.  That is the book's
        order of draws, so the same ``np.random.seed`` gives the same arrays.

        ``backend`` is ``"cython"``, ``"numpy"`` or ``None``, which defers to
        ``fastnn.set_backend`` each time the network computes."""
        super().__init__(sizes, backend)
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def _spec(self):
        return trainer.Spec("sigmoid", "sigmoid", QuadraticCost)

    def feedforward(self, a):
        """The output layer's activations for the input column ``a``, of
        shape (sizes[0], 1), as a (sizes[-1], 1) column.  Several inputs side
        by side give as many outputs side by side; a 1-D input a 1-D output.
        Arrays assigned to ``weights`` or ``biases`` count from the next call."""
        if self._book_mode():
            return self._book_feedforward(a)
        return self._feedforward(a)

    def SGD(self, training_data, epochs, mini_batch_size, eta,
            test_data=None):
        """Run ``epochs`` epochs of mini-batch gradient descent with rate
        ``eta``.  ``training_data`` is a list of ``(x, y)`` pairs: ``x`` a
        (sizes[0], 1) input column, ``y`` the (sizes[-1], 1) column the
        output should approach.

        Every epoch shuffles the caller's list in place, drawing from
        ``random`` as ``random.shuffle`` does (or as Python 2.7 did, after
        ``fastnn.set_shuffle("python2")``), then steps on consecutive slices
        of ``mini_batch_size`` pairs; the last slice is shorter when the
        sizes do not divide.  After each epoch one line is printed:
        ``Epoch j: right / total`` when ``test_data``, a list of (input
        column, integer label) pairs, is given, else ``Epoch j complete``.
        Returns None.

        On the kernels the lists become arrays once per call and the epochs
        run many mini-batches per kernel call; the shuffles are drawn as row
        numbers, and the caller's list is put in their order when training
        ends.  Malformed data raise TypeError or ValueError before the first
        step; a weight or bias that turns NaN or infinite raises
        ``fastnn.TrainingDiverged`` naming the epoch."""
        has_test = given(test_data, "test_data")
        # On the book path: update_mini_batch per slice, backprop per example
        # and evaluate per epoch, through whatever the program changed.
        if self._book_mode():
            eta = check_eta(eta)
            if has_test:
                n_test = len(test_data)

            def book_report(j, data):
                if has_test:
                    print("Epoch {0}: {1} / {2}".format(j, self.evaluate(test_data), n_test))
                else:
                    print("Epoch {0} complete".format(j))

            self._book_sgd(training_data, epochs, mini_batch_size,
                           lambda mini_batch: self.update_mini_batch(mini_batch, eta), book_report)
            return

        if has_test:
            X_test, y_test = self._arrays(test_data, "test_data", "label")
            n_test = len(test_data)

        def report(j, weights, biases, training):
            if has_test:
                print("Epoch {0}: {1} / {2}".format(
                    j, self._count_correct(X_test, y_test, weights, biases, epoch=j), n_test))
            else:
                print("Epoch {0} complete".format(j))

        self._train(training_data, epochs, mini_batch_size, eta, 0.0, report)

    def update_mini_batch(self, mini_batch, eta):
        """One step of gradient descent on ``mini_batch``, a list of
        ``(x, y)`` pairs as ``SGD`` takes: every weight and bias moves
        against the batch's mean gradient, scaled by ``eta``.  ``weights``
        and ``biases`` become new arrays; those the caller held before keep
        their values.  On the kernels a step that leaves a NaN or infinity
        raises ``fastnn.TrainingDiverged``."""
        if self._book_mode():
            self._book_update_mini_batch(mini_batch, eta, 0.0, 1)
        else:
            self._update_mini_batch(mini_batch, eta, 0.0, 1)

    def backprop(self, x, y):
        """``(nabla_b, nabla_w)``: the derivatives of the quadratic cost of
        one example, input column ``x`` and target column ``y``, with respect
        to each bias and weight; one array per layer after the inputs, of the
        shapes ``biases`` and ``weights`` have.  The network is not changed.
        On the book path the output layer's error is ``cost_derivative(a, y)``
        times ``sigmoid_prime(z)``, both looked up at the call."""
        if self._book_mode():
            return self._book_backprop(
                x, y, lambda z, a, y: self.cost_derivative(a, y) * sigmoid_prime(z))
        return self._backprop(x, y)

    def evaluate(self, test_data):
        """How many (input column, integer label) pairs of ``test_data`` the
        network classifies right: the label must be the position of the
        largest output activation (on a tie, the first such position)."""
        if self._book_mode():
            return sum(int(np.argmax(self.feedforward(x)) == y) for (x, y) in test_data)
        X, labels = self._arrays(test_data, "test_data", "label")
        return self._count_correct(X, labels)

    def cost_derivative(self, output_activations, y):
        """``output_activations - y``, the quadratic cost's slope in each
        output activation for one example.  The kernels compute it
        themselves; only the book path calls this method, so that a
        subclass's version of it is the one used."""
        return (output_activations-y)
