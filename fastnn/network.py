"""
network.py (fastnn drop-in)
~~~~~~~~~~~~~~~~~~~~~~~~~~~

The book's chapter 1 module: a feedforward network of sigmoid neurons
trained by mini-batch stochastic gradient descent on the quadratic cost,
with gradients from backpropagation.

Same classes, methods, arguments, printed lines and random draws as the
book's ``network.py``; the arithmetic runs in fastnn's compiled kernels
(``backend="cython"``, the default) or in its numpy reference path
(``backend="numpy"``).  A program written for the book runs unchanged after
``from fastnn import network``.
"""

#### Libraries
import numpy as np

from . import trainer
from ._book import BookNetwork
from ._validation import check_eta
from .activations import sigmoid, sigmoid_prime  # noqa: F401  (module-level, as in the book)
from .costs import QuadraticCost


class Network(BookNetwork):

    #: Methods a subclass may override: SGD then calls them as the book's does.
    _book_methods = ("feedforward", "update_mini_batch", "backprop", "evaluate",
                     "cost_derivative")

    def __init__(self, sizes, backend=None):
        """The list ``sizes`` contains the number of neurons in the respective
        layers of the network.  For example, if the list was [2, 3, 1] then
        it would be a three-layer network, with the first layer containing 2
        neurons, the second layer 3 neurons, and the third layer 1 neuron.
        The biases and weights are initialized randomly from a Gaussian with
        mean 0 and variance 1, drawn from ``np.random.randn`` in the book's
        order (all biases, then all weights), so seeding ``np.random`` gives
        the book's initial network.  The first layer is an input layer and
        has no biases.

        ``backend`` picks the kernels: ``"cython"`` or ``"numpy"``; ``None``
        follows ``fastnn.set_backend`` at each call."""
        super().__init__(sizes, backend)
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def _spec(self):
        return trainer.Spec("sigmoid", "sigmoid", QuadraticCost)

    def feedforward(self, a):
        """Return the output of the network if ``a`` is input (a (n, 1)
        column, or several columns side by side)."""
        if self._book_mode():
            return self._book_feedforward(a)
        return self._feedforward(a)

    def SGD(self, training_data, epochs, mini_batch_size, eta,
            test_data=None):
        """Train the neural network using mini-batch stochastic gradient
        descent.  The ``training_data`` is a list of tuples ``(x, y)``
        representing the training inputs and the desired outputs.  If
        ``test_data`` is provided then the network will be evaluated against
        the test data after each epoch, and partial progress printed out.

        As in the book, ``training_data`` is shuffled in place with
        ``random.shuffle`` once per epoch (``fastnn.set_shuffle("python2")``
        shuffles as Python 2.7 did).  The lists are converted to arrays once,
        here; each epoch then runs in a single kernel call."""
        # A subclass overriding one of the book's methods, or a rebound
        # sigmoid/sigmoid_prime: the book's own sequence of calls
        # (update_mini_batch per mini-batch, backprop per example, evaluate
        # per epoch) through that code, with one BookPathWarning.
        if self._book_mode():
            eta = check_eta(eta)
            if test_data:
                n_test = len(test_data)

            def book_report(j, data):
                if test_data:
                    print("Epoch {0}: {1} / {2}".format(j, self.evaluate(test_data), n_test))
                else:
                    print("Epoch {0} complete".format(j))

            self._book_sgd(training_data, epochs, mini_batch_size,
                           lambda mini_batch: self.update_mini_batch(mini_batch, eta), book_report)
            return

        if test_data:
            X_test, y_test = self._arrays(test_data, "test_data", "label")
            n_test = len(test_data)

        def report(j, weights, biases, training):
            if test_data:
                print("Epoch {0}: {1} / {2}".format(
                    j, self._count_correct(X_test, y_test, weights, biases, epoch=j), n_test))
            else:
                print("Epoch {0} complete".format(j))

        self._train(training_data, epochs, mini_batch_size, eta, 0.0, report)

    def update_mini_batch(self, mini_batch, eta):
        """Update the network's weights and biases by applying gradient
        descent using backpropagation to a single mini batch.  The
        ``mini_batch`` is a list of tuples ``(x, y)``, and ``eta`` is the
        learning rate."""
        if self._book_mode():
            self._book_update_mini_batch(mini_batch, eta, 0.0, 1)
        else:
            self._update_mini_batch(mini_batch, eta, 0.0, 1)

    def backprop(self, x, y):
        """Return a tuple ``(nabla_b, nabla_w)`` representing the gradient
        for the cost function C_x.  ``nabla_b`` and ``nabla_w`` are
        layer-by-layer lists of numpy arrays, similar to ``self.biases`` and
        ``self.weights``."""
        if self._book_mode():
            return self._book_backprop(
                x, y, lambda z, a, y: self.cost_derivative(a, y) * sigmoid_prime(z))
        return self._backprop(x, y)

    def evaluate(self, test_data):
        """Return the number of test inputs for which the neural network
        outputs the correct result.  Note that the neural network's output
        is assumed to be the index of whichever neuron in the final layer
        has the highest activation."""
        if self._book_mode():
            return sum(int(np.argmax(self.feedforward(x)) == y) for (x, y) in test_data)
        X, labels = self._arrays(test_data, "test_data", "label")
        return self._count_correct(X, labels)

    def cost_derivative(self, output_activations, y):
        """Return the vector of partial derivatives \\partial C_x /
        \\partial a for the output activations."""
        return (output_activations-y)
