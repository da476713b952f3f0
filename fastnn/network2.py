"""
network2.py (fastnn drop-in)
~~~~~~~~~~~~~~~~~~~~~~~~~~~~

The book's chapter 3 module: network.py improved with the cross-entropy
cost, L2 regularization, better weight initialization, monitoring, and
saving to JSON.

Same classes, methods, arguments, return values, printed lines and random
draws as the book's ``network2.py``, with the arithmetic in fastnn's kernels
(``backend="cython"``, the default, or the numpy reference path with
``backend="numpy"``).  Files written by ``save`` load in the book's program
and the other way round.
"""

#### Libraries
import numpy as np

from . import _serialize, trainer
from ._book import BookNetwork, given
from ._validation import check_epochs, check_flag, check_positive_int, check_real, one_hot
from .activations import sigmoid, sigmoid_prime  # noqa: F401  (module-level, as in the book)
from .costs import CrossEntropyCost, QuadraticCost, cost_class, kernel_code  # noqa: F401


#### Main Network class
class Network(BookNetwork):

    def __init__(self, sizes, cost=CrossEntropyCost, backend=None):
        """The list ``sizes`` contains the number of neurons in the respective
        layers of the network.  For example, if the list was [2, 3, 1] then
        it would be a three-layer network, with the first layer containing 2
        neurons, the second layer 3 neurons, and the third layer 1 neuron.
        The biases and weights for the network are initialized randomly,
        using ``self.default_weight_initializer`` (see docstring for that
        method).  ``cost`` may be a cost class or an instance of one (the
        book's scripts pass both).  ``backend`` picks the kernels
        (``"cython"`` or ``"numpy"``; ``None`` follows ``fastnn.set_backend``)."""
        super().__init__(sizes, backend)
        cost_class(cost)   # a clear error now rather than mid-training
        self.cost = cost
        self.default_weight_initializer()

    def default_weight_initializer(self):
        """Initialize each weight using a Gaussian distribution with mean 0
        and standard deviation 1 over the square root of the number of
        weights connecting to the same neuron.  Initialize the biases
        using a Gaussian distribution with mean 0 and standard
        deviation 1.

        Note that the first layer is assumed to be an input layer, and
        by convention we won't set any biases for those neurons, since
        biases are only ever used in computing the outputs from later
        layers.

        """
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)/np.sqrt(x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def large_weight_initializer(self):
        """Initialize the weights using a Gaussian distribution with mean 0
        and standard deviation 1.  Initialize the biases using a
        Gaussian distribution with mean 0 and standard deviation 1.

        This weight and bias initializer uses the same approach as in
        Chapter 1, and is included for purposes of comparison.  It
        will usually be better to use the default weight initializer
        instead.

        """
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def feedforward(self, a):
        """Return the output of the network if ``a`` is input."""
        return self._feedforward(a)

    def _cost(self):
        cost = cost_class(self.cost)
        if (self.backend or trainer.get_backend()) == "cython":
            kernel_code(cost)   # a clear error for a cost the compiled kernels lack
        return cost

    def SGD(self, training_data, epochs, mini_batch_size, eta,
            lmbda = 0.0,
            evaluation_data=None,
            monitor_evaluation_cost=False,
            monitor_evaluation_accuracy=False,
            monitor_training_cost=False,
            monitor_training_accuracy=False):
        """Train the neural network using mini-batch stochastic gradient
        descent.  The ``training_data`` is a list of tuples ``(x, y)``
        representing the training inputs and the desired outputs.  The
        other non-optional parameters are self-explanatory, as is the
        regularization parameter ``lmbda``.  The method also accepts
        ``evaluation_data``, usually either the validation or test
        data.  We can monitor the cost and accuracy on either the
        evaluation data or the training data, by setting the
        appropriate flags.  The method returns a tuple containing four
        lists: the (per-epoch) costs on the evaluation data, the
        accuracies on the evaluation data, the costs on the training
        data, and the accuracies on the training data.  All values are
        evaluated at the end of each training epoch.  So, for example,
        if we train for 30 epochs, then the first element of the tuple
        will be a 30-element list containing the cost on the
        evaluation data at the end of each epoch. Note that the lists
        are empty if the corresponding flag is not set.

        The lists are converted to arrays once, here; each epoch runs in
        a single kernel call and the monitors use the kernels' forward pass
        over the whole data set.  Training data is shuffled in place once per
        epoch, as in the book.
        """
        epochs = check_epochs(epochs)
        mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size")
        eta = check_real(eta, "eta")
        lmbda = check_real(lmbda, "lmbda")
        cost = self._cost()
        monitor_evaluation = monitor_evaluation_cost or monitor_evaluation_accuracy
        if monitor_evaluation and not given(evaluation_data, "evaluation_data"):
            raise ValueError("monitor_evaluation_cost/accuracy need evaluation_data")
        X, Y = self._arrays(training_data, "training_data", "vector")
        n = len(training_data)
        if monitor_evaluation:
            n_data = len(evaluation_data)
            X_eval, y_eval = self._arrays(evaluation_data, "evaluation_data", "label")
        weights, biases = self._parameters(fresh=True)
        kernels = self._kernels()
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []

        def monitor(j):
            print("Epoch %s training complete" % j)
            if monitor_training_cost or monitor_training_accuracy:
                outputs = kernels.feedforward(weights, biases, X)
            if monitor_training_cost:
                cost_value = self._total_cost(outputs, Y, lmbda, cost)
                training_cost.append(cost_value)
                print("Cost on training data: {}".format(cost_value))
            if monitor_training_accuracy:
                accuracy = int(np.sum(np.argmax(outputs, axis=1) == np.argmax(Y, axis=1)))
                training_accuracy.append(accuracy)
                print("Accuracy on training data: {} / {}".format(accuracy, n))
            if monitor_evaluation:
                outputs = kernels.feedforward(weights, biases, X_eval)
            if monitor_evaluation_cost:
                cost_value = self._total_cost(outputs, one_hot(y_eval, self.sizes[-1], np.float64), lmbda, cost)
                evaluation_cost.append(cost_value)
                print("Cost on evaluation data: {}".format(cost_value))
            if monitor_evaluation_accuracy:
                accuracy = int(np.sum(np.argmax(outputs, axis=1) == y_eval))
                evaluation_accuracy.append(accuracy)
                print("Accuracy on evaluation data: {} / {}".format(accuracy, n_data))
            print()

        order = trainer.BookOrder(n)
        try:
            trainer.sgd(kernels, weights, biases, X, Y, epochs, mini_batch_size, eta, lmbda,
                        cost, order, monitor)
        finally:
            order.apply_to(training_data)
        return evaluation_cost, evaluation_accuracy, \
            training_cost, training_accuracy

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """Update the network's weights and biases by applying gradient
        descent using backpropagation to a single mini batch.  The
        ``mini_batch`` is a list of tuples ``(x, y)``, ``eta`` is the
        learning rate, ``lmbda`` is the regularization parameter, and
        ``n`` is the total size of the training data set.

        """
        n = check_positive_int(n, "n")
        self._update_mini_batch(mini_batch, eta, lmbda, n, self._cost())

    def backprop(self, x, y):
        """Return a tuple ``(nabla_b, nabla_w)`` representing the
        gradient for the cost function C_x.  ``nabla_b`` and
        ``nabla_w`` are layer-by-layer lists of numpy arrays, similar
        to ``self.biases`` and ``self.weights``."""
        return self._backprop(x, y, self._cost())

    def accuracy(self, data, convert=False):
        """Return the number of inputs in ``data`` for which the neural
        network outputs the correct result. The neural network's
        output is assumed to be the index of whichever neuron in the
        final layer has the highest activation.

        The flag ``convert`` should be set to False if the data set is
        validation or test data (the usual case), and to True if the
        data set is the training data. The need for this flag arises
        due to differences in the way the results ``y`` are
        represented in the different data sets.  In particular, it
        flags whether we need to convert between the different
        representations.  It may seem strange to use different
        representations for the different data sets.  Why not use the
        same representation for all three data sets?  It's done for
        efficiency reasons -- the program usually evaluates the cost
        on the training data and the accuracy on other data sets.
        These are different types of computations, and using different
        representations speeds things up.  More details on the
        representations can be found in
        mnist_loader.load_data_wrapper.

        """
        convert = check_flag(convert, "convert")
        X, labels = self._arrays(data, "data", "argmax" if convert else "label")
        return self._count_correct(X, labels)

    def total_cost(self, data, lmbda, convert=False):
        """Return the total cost for the data set ``data``.  The flag
        ``convert`` should be set to False if the data set is the
        training data (the usual case), and to True if the data set is
        the validation or test data.  See comments on the similar (but
        reversed) convention for the ``accuracy`` method, above.
        """
        lmbda = check_real(lmbda, "lmbda")
        if check_flag(convert, "convert"):
            X, labels = self._arrays(data, "data", "label")
            Y = one_hot(labels, self.sizes[-1], np.float64)
        else:
            X, Y = self._arrays(data, "data", "vector")
        weights, biases = self._parameters(fresh=False)
        outputs = self._kernels().feedforward(weights, biases, X)
        return self._total_cost(outputs, Y, lmbda, cost_class(self.cost))

    def _total_cost(self, outputs, Y, lmbda, cost):
        """The book's total cost from the outputs of the whole data set:
        the mean of ``cost.fn`` over examples plus the L2 term."""
        total = cost.fn(outputs, Y)/len(Y)
        total += 0.5*(lmbda/len(Y))*sum(
            np.linalg.norm(w)**2 for w in self.weights)
        return float(total)

    def save(self, filename):
        """Save the neural network to the file ``filename``, in the book's
        JSON format (written to a temporary file, then renamed into place)."""
        weights, biases = self._parameters(fresh=False)
        _serialize.save(filename, self.sizes, weights, biases,
                        cost_class(self.cost).__name__)


#### Loading a Network
def load(filename, backend=None):
    """Load a neural network from the file ``filename``.  Returns an
    instance of Network.  The file is checked first: a truncated file,
    arrays that do not match ``sizes`` or an unknown cost raise ValueError.

    """
    sizes, weights, biases, cost, _ = _serialize.load(filename)
    # Like the book, build a network (which draws its random initial weights
    # from np.random, so seeded programs stay in step) and overwrite them.
    net = Network(sizes, cost=cost, backend=backend)
    net.weights = weights
    net.biases = biases
    return net

#### Miscellaneous functions
from .mnist_loader import vectorized_result  # noqa: E402,F401  (the book defines it in both modules)
