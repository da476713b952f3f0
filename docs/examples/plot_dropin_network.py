"""
Chapter 1: the book's first network, through the drop-in
========================================================

The book's chapter 1 session with one changed import: ``network.Network``
with sigmoid neurons and the quadratic cost, mini-batches of 10, eta = 3.0.
Seeded, it draws the book's initial weights and shuffles as the book does.
The book runs 30 epochs; this page runs 5 to keep the build short.
"""
import random

import numpy as np

from fastnn import mnist_loader, network        # the book: import mnist_loader, network

random.seed(12345678)
np.random.seed(12345678)
training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
net = network.Network([784, 30, 10])
net.SGD(training_data, 5, 10, 3.0, test_data=test_data)
