"""
Chapter 3: network2, cross-entropy and L2 regularization
========================================================

``network2`` as the book runs it in chapter 3, with only the imports changed:
cross-entropy cost, lmbda = 5.0, the evaluation accuracy printed each epoch.
The book runs 30 epochs; this page runs 5.  ``save`` writes the book's JSON
format and ``network2.load`` reads it back.
"""
import os
import tempfile

from fastnn import mnist_loader, network2        # the book: import mnist_loader, network2

training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
    training_data, 5, 10, 0.5, lmbda=5.0, evaluation_data=validation_data,
    monitor_evaluation_accuracy=True)

path = os.path.join(tempfile.mkdtemp(), "net.json")
net.save(path)
same = network2.load(path)
print("test accuracy of the loaded network:", same.accuracy(test_data), "/", len(test_data))
