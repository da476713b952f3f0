"""
Many runs: a search with ``fastnn.distributed``
===============================================

Chapter 3's search over eta and lambda, each setting with two seeds.  On a
laptop or a cluster the same call spreads the runs over Dask workers; here
``client="serial"`` runs them one after another in this process, which gives
the same rows (see :doc:`/guide/dask`).
"""
from fastnn.datasets import load_mnist
from fastnn.distributed import search

(X, y), (X_val, y_val), _ = load_mnist()
rows = search({"learning_rate": [0.1, 0.5, 2.5], "l2": [0.0, 5.0]},
              X[:10000], y[:10000], validation_data=(X_val, y_val), repeats=2,
              base={"sizes": [784, 30, 10], "epochs": 2, "seed": 0}, client="serial")
rows.sort(key=lambda row: row["best_val_accuracy"], reverse=True)
for row in rows[:5]:
    print("eta {learning_rate:<4} lambda {l2:<4} best {best_val_accuracy:.4f} "
          "at epoch {best_epoch}".format(**row))
