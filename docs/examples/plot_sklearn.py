"""
From scikit-learn: ``fastnn.sklearn.BookMLPClassifier``
=======================================================

An estimator that works with ``Pipeline``, ``cross_val_score``, ``clone`` and
pickling.
"""
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from fastnn.datasets import load_mnist
from fastnn.sklearn import BookMLPClassifier

(X, y), (X_val, y_val), _ = load_mnist()
clf = BookMLPClassifier(hidden_layer_sizes=(30,), epochs=5, learning_rate=0.5, l2=5.0, random_state=0)
print("validation accuracy:", clf.fit(X, y).score(X_val, y_val))
pipe = make_pipeline(MinMaxScaler(), BookMLPClassifier(epochs=5, learning_rate=0.1, random_state=0))
print("3-fold accuracies:", cross_val_score(pipe, X[:10000], y[:10000], cv=3))
