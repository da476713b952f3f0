"""
Chapter 5: the speed of learning in a deep network
==================================================

Before training, the norm of each hidden layer's mean bias gradient over the
first 1,000 training images, for [784, 30, 30, 30, 30, 10] with network2's
defaults: the early layers learn far more slowly than the later ones, as the
book found.  ``monitor_gradients=True`` records the same each epoch.
"""
import matplotlib.pyplot as plt

from fastnn import MLP
from fastnn.datasets import load_mnist

(X, y), _, _ = load_mnist()
net = MLP([784, 30, 30, 30, 30, 10], seed=0)
norms = net.gradient_norms(X[:1000], y[:1000])
print("hidden layers' gradient norms:", ["{:.2g}".format(n) for n in norms])
print("first layer's below the fourth's by {:.0f}x".format(norms[-1] / norms[0]))

history = net.fit(X[:1000], y[:1000], epochs=30, batch_size=10, learning_rate=0.1,
                  monitor_gradients=True)
for layer in range(4):
    plt.semilogy([h["gradient_norms"][layer] for h in history], label="hidden layer {}".format(layer + 1))
plt.xlabel("epoch")
plt.ylabel("norm of the mean bias gradient")
plt.legend()
plt.show()
