"""
The array API: ``fastnn.MLP``
=============================

The same networks for people not following the book: one example per row,
integer labels, a history of dicts.  ``fastnn.history`` draws the curves.
"""
import matplotlib.pyplot as plt

from fastnn import MLP
from fastnn.datasets import load_mnist

(X, y), (X_val, y_val), (X_test, y_test) = load_mnist()   # float32 (n, 784), int labels
net = MLP([784, 100, 10], cost="cross_entropy", dtype="float32", seed=0)
history = net.fit(X, y, epochs=5, batch_size=10, learning_rate=0.5, l2=5.0,
                  validation_data=(X_val, y_val))
print("test accuracy:", net.score(X_test, y_test))
print("labels of the first five test images:", net.predict(X_test[:5]))
print("their output activations:", net.predict_proba(X_test[:5]).shape)

# %%
# Each record of the history is one epoch.
print(history[-1])
plt.plot([h["epoch"] for h in history], [h["val_accuracy"] for h in history], marker="o")
plt.xlabel("epoch")
plt.ylabel("validation accuracy")
plt.title("[784, 100, 10], float32, eta 0.5, lmbda 5")
plt.show()
