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
from ._book import BookNetwork, given
from ._validation import check_epochs, check_positive_int, check_real
from .activations import sigmoid, sigmoid_prime  # noqa: F401  (module-level, as in the book)
from .costs import QuadraticCost


class Network(BookNetwork):

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

    def feedforward(self, a):
        """Return the output of the network if ``a`` is input (a (n, 1)
        column, or several columns side by side)."""
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
        epochs = check_epochs(epochs)
        mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size")
        eta = check_real(eta, "eta")
        X, Y = self._arrays(training_data, "training_data", "vector")
        if given(test_data, "test_data"):
            X_test, y_test = self._arrays(test_data, "test_data", "label")
            n_test = len(test_data)
        weights, biases = self._parameters(fresh=True)
        kernels = self._kernels()

        def report(j):
            if test_data:
                print("Epoch {0}: {1} / {2}".format(
                    j, self._count_correct(X_test, y_test, weights, biases), n_test))
            else:
                print("Epoch {0} complete".format(j))

        order = trainer.BookOrder(len(X))
        try:
            trainer.sgd(kernels, weights, biases, X, Y, epochs, mini_batch_size, eta, 0.0,
                        QuadraticCost, order, report)
        finally:
            order.apply_to(training_data)

    def update_mini_batch(self, mini_batch, eta):
        """Update the network's weights and biases by applying gradient
        descent using backpropagation to a single mini batch.  The
        ``mini_batch`` is a list of tuples ``(x, y)``, and ``eta`` is the
        learning rate."""
        self._update_mini_batch(mini_batch, eta, 0.0, 1, QuadraticCost)

    def backprop(self, x, y):
        """Return a tuple ``(nabla_b, nabla_w)`` representing the gradient
        for the cost function C_x.  ``nabla_b`` and ``nabla_w`` are
        layer-by-layer lists of numpy arrays, similar to ``self.biases`` and
        ``self.weights``."""
        return self._backprop(x, y, QuadraticCost)

    def evaluate(self, test_data):
        """Return the number of test inputs for which the neural network
        outputs the correct result.  Note that the neural network's output
        is assumed to be the index of whichever neuron in the final layer
        has the highest activation."""
        X, labels = self._arrays(test_data, "test_data", "label")
        return self._count_correct(X, labels)

    def cost_derivative(self, output_activations, y):
        """Return the vector of partial derivatives \\partial C_x /
        \\partial a for the output activations."""
        return (output_activations-y)
