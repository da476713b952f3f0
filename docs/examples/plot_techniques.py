"""
Chapter 3's techniques on the compiled kernels
==============================================

ReLU hidden neurons, a softmax output with the log-likelihood cost,
momentum, L2 regularization, a learning rate halved when the validation
accuracy stalls, and early stopping that puts the best epoch's weights back.
"""
from fastnn import MLP, HalveOnPlateau
from fastnn.datasets import load_mnist

(X, y), (X_val, y_val), _ = load_mnist()
net = MLP([784, 100, 10], activation="relu", output="softmax", cost="log_likelihood",
          dtype="float32", seed=0)
schedule = HalveOnPlateau(patience=2, eta=0.01)
history = net.fit(X, y, epochs=8, batch_size=10, learning_rate=schedule, momentum=0.9,
                  l2=5.0, validation_data=(X_val, y_val), early_stopping=3)
for record in history:
    print("epoch {epoch}: eta {eta:g}, validation accuracy {val_accuracy:.4f}".format(**record))
print("weights now those of the best epoch:", net.score(X_val, y_val))
