"""The sigmoid neuron's activation function and its derivative (book, chapter 1)."""
import numpy as np


def sigmoid(z):
    """The sigmoid function, 1/(1+e^-z), elementwise.

    For very negative ``z`` the exponential overflows to inf and the result is
    the correct limit 0.0; numpy's overflow warning says nothing useful here.
    """
    with np.errstate(over="ignore"):
        return 1.0/(1.0+np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z)*(1-sigmoid(z))
