"""network3 learns MNIST: the book's first chapter-6 network, one epoch."""
import time

import numpy as np

from fastnn import datasets, network3
from fastnn.network3 import ConvPoolLayer, FullyConnectedLayer, Network, SoftmaxLayer


def test_first_chapter6_network_learns_in_one_epoch(mnist_path):
    """ConvPool(20 5x5 filters) -> FC(100) -> softmax, sigmoid, mini-batch 10,
    eta 0.1: at least 93% validation accuracy after one epoch on the 50,000
    training images (the same net in PyTorch gave 94.1% here)."""
    training_data, validation_data, test_data = datasets.load_mnist(mnist_path)
    mini_batch_size = 10
    np.random.seed(0)
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                      filter_shape=(20, 1, 5, 5), poolsize=(2, 2)),
        FullyConnectedLayer(n_in=20*12*12, n_out=100),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size, backend="cython")
    start = time.perf_counter()
    history = net.SGD(training_data, 1, mini_batch_size, 0.1, validation_data, test_data,
                      verbose=False)
    seconds = time.perf_counter() - start
    accuracy = history["validation_accuracy"][0]
    print("one epoch: {:.2%} validation, {:.2%} test, {:.1f} s ({} threads)".format(
        accuracy, history["test_accuracy"][0], seconds, network3.get_num_threads()))
    assert accuracy >= 0.93
    assert history["test_accuracy"][0] >= 0.92
