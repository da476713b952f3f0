"""Chapter 6's ladder of convolutional networks, run with fastnn.network3.

Each rung is the network the book trains in "Introducing convolutional
networks" and after, with the book's hyper-parameters, its result beside
ours (test accuracy at the epoch of best validation accuracy, as the book
reports it)::

    python benchmarks/chapter6.py                  # the book's epochs: hours
    python benchmarks/chapter6.py --epochs 1       # a quick pass: minutes
    python benchmarks/chapter6.py --only relu dropout --epochs 3
    python benchmarks/chapter6.py --epochs 1 --train-size 2000 --ensemble-size 2   # smoke test
    python benchmarks/chapter6.py --only ensemble --record runs.json   # resumable

With ``--record FILE`` every finished network (each rung, and each member of the
vote with its test-set predictions) is written to FILE, a JSON file replaced
atomically; a later run with the same file reads it back instead of training
that network again, so a long ladder can be spread over several sittings.
A network in training is saved after every epoch in the folder FILE.partial
and taken up there by the next run, so a sitting that ends mid-network loses
at most the epoch it was in.  A
network is recorded under everything that decides its result (rung, seed,
epochs, training size, threads, eta, lambda and a digest of the data), so a run
with other settings trains its own.

The expanded training set (250,000 images) is built and cached on first use
(fastnn.expand).  ``--threads`` sets the compiled kernels' thread count;
``--seed`` seeds numpy's global generator before each network is built, so
the initial weights are reproducible (the book did not seed).
"""
import argparse
import hashlib
import json
import math
import os
import time

import numpy as np

# the installed fastnn: the source tree's own fastnn/ is not built
from fastnn import _network3_file, network3
from fastnn._files import atomic_write
from fastnn.cli import merge_network3  # one history from two runs, network3's best-epoch rule
from fastnn.ladder import LADDER, MB  # the rungs, shared with `fastnn train --preset`
from fastnn.network3 import Network


def train(name, layers, epochs, eta, lmbda, data, verbose, checkpoint=None):
    """Train ``layers`` (a fresh network: the caller has seeded numpy) for
    ``epochs`` epochs, one ``SGD`` call an epoch; returns the network, its
    history (network3's dict) and the seconds spent training it.

    With ``checkpoint`` (a path without extension), the network and its
    history are saved after every epoch, and a network found saved there is
    taken up where it stopped: the weights, the dropout generator's state and
    the history come back, so the result is the one an unbroken run gives.
    An epoch is one call because ``SGD`` continues its optimizer and
    generator from one call to the next; the best epoch of the merged
    history follows network3's rule (a tie is a new best)."""
    net = Network(layers, MB)
    training, validation, test = data
    hist, seconds = None, 0.0
    if checkpoint is not None:
        hist, seconds = read_checkpoint(checkpoint, net, name, epochs)
    for epoch in range(len(hist["validation_accuracy"]) if hist else 0, epochs):
        t = time.perf_counter()
        h = net.SGD(training, 1, MB, eta, validation, test, lmbda=lmbda, verbose=False)
        seconds += time.perf_counter() - t
        hist = h if hist is None else merge_network3(hist, h, len(training[1]) // MB)
        if checkpoint is not None:
            write_checkpoint(checkpoint, net, epochs, hist, seconds)
        if verbose:
            print("  {} epoch {}/{}: validation {:.2%}, test at best {:.2%} ({:.0f} s)".format(
                name, epoch + 1, epochs, hist["validation_accuracy"][-1],
                hist["test_accuracy_at_best"] or 0.0, seconds), flush=True)
    return net, hist, seconds


def read_checkpoint(path, net, name, epochs):
    """The history and seconds saved at ``path`` (its ``.json``) for a
    network of ``epochs`` epochs, with the saved weights put into ``net``;
    (None, 0.0) when nothing is saved there.  The path names the network (the
    record's key): ``name`` only labels the printed line, as the dropout rung
    and the vote's first member are one network."""
    if not os.path.exists(path + ".json"):
        return None, 0.0
    try:
        with open(path + ".json", encoding="utf-8") as f:
            saved = json.load(f)
        ok = (isinstance(saved, dict) and saved.get("epochs") == epochs
              and isinstance(saved.get("history"), dict) and isinstance(saved.get("seconds"), float))
        done = len(saved["history"]["validation_accuracy"]) if ok else -1
        if not 0 < done <= epochs or saved.get("network") != os.path.basename(
                epoch_file(path, done)):
            raise ValueError("not a checkpoint of a network of {} epochs".format(epochs))
        _network3_file.load_weights(net, os.path.join(os.path.dirname(path), saved["network"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError("{}.json: a damaged checkpoint ({}); delete it to train that network "
                         "from the start".format(path, e)) from None
    print("  {}: resumed after epoch {} of {} ({:.0f} s so far)".format(
        name, done, epochs, saved["seconds"]), flush=True)
    return saved["history"], saved["seconds"]


def epoch_file(path, done):
    """The file of the checkpoint at ``path`` that holds the network after ``done`` epochs."""
    return "{}.epoch{}.npz".format(path, done)


def write_checkpoint(path, net, epochs, hist, seconds):
    """Save ``net`` after its latest epoch beside ``path`` and then the JSON
    that names it, each atomically, so a break at any moment leaves a JSON
    naming a whole network of its own epoch; the network it named before is
    removed last."""
    done = len(hist["validation_accuracy"])
    network = epoch_file(path, done)
    net.save(network)
    with atomic_write(path + ".json", "w", suffix=".json") as f:
        json.dump({"epochs": epochs, "history": hist, "seconds": seconds,
                   "network": os.path.basename(network)}, f)
    previous = epoch_file(path, done - 1)
    if os.path.exists(previous):
        os.remove(previous)


def remove_checkpoint(path):
    """Delete what ``write_checkpoint`` left at ``path`` (its network is recorded)."""
    folder, stem = os.path.split(path)
    for f in os.listdir(folder):
        if f == stem + ".json" or (f.startswith(stem + ".epoch") and f.endswith(".npz")):
            os.remove(os.path.join(folder, f))


RECORD_VERSION = 1


def read_record(path, n_test):
    """The finished networks recorded in ``path`` (a dict by key), or {} when the
    file does not exist yet.  A file that is not what :func:`write_record` writes
    raises ValueError naming it, rather than being trusted or overwritten."""
    if path is None or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError("{}: not a chapter6 record ({})".format(path, e)) from None
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION \
            or not isinstance(data.get("runs"), dict):
        raise ValueError("{}: not a chapter6 record (version {} expected)".format(path, RECORD_VERSION))
    for key, run in data["runs"].items():
        ok = isinstance(run, dict) and all(
            isinstance(run.get(f), (int, float)) and not isinstance(run.get(f), bool)
            and math.isfinite(run[f]) and run[f] >= 0 for f in ("test_at_best", "seconds", "threads"))
        ok = ok and run["test_at_best"] <= 1
        preds = run.get("predictions") if isinstance(run, dict) else None
        if ok and preds is not None:
            ok = (isinstance(preds, list) and len(preds) == n_test
                  and all(type(v) is int and 0 <= v <= 9 for v in preds))
        if not ok:
            raise ValueError("{}: the run {!r} is damaged".format(path, key))
    return data["runs"]


def write_record(path, runs):
    """Replace ``path`` with ``runs`` atomically, so an interrupted write leaves
    the old record."""
    with atomic_write(path, "w", suffix=".json") as f:
        json.dump({"version": RECORD_VERSION, "runs": runs}, f)


def data_digest(data):
    """The first 12 hex digits of the SHA-256 of the training, validation
    and test arrays: a record's key holds it, so results on other data are
    not taken for these."""
    h = hashlib.sha256()
    for x, y in data:
        for a in (x, y):
            a = np.ascontiguousarray(a)
            h.update("{}{}".format(a.dtype.str, a.shape).encode())
            h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:12]


def record_key(name, seed, epochs, train_size, threads, eta, lmbda, digest):
    return "{}/seed{}/epochs{}/train{}/threads{}/eta{!r}/lmbda{!r}/data{}".format(
        name, seed, epochs, train_size or "all", threads, eta, lmbda, digest)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every rung (default: the book's, 60 or 40)")
    parser.add_argument("--only", nargs="+", choices=list(LADDER), default=None,
                        help="run these rungs only")
    parser.add_argument("--ensemble-size", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=None,
                        help="train on the first N training images only (a smoke test)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="MNIST directory or mnist.pkl.gz")
    parser.add_argument("--verbose", action="store_true", help="print a line after every epoch")
    parser.add_argument("--record", default=None, metavar="FILE",
                        help="keep every finished network's result in FILE (JSON) and reuse "
                             "those already there: a resumable ladder")
    args = parser.parse_args(argv)
    if args.threads:
        network3.set_num_threads(args.threads)

    plain = network3.load_data_shared(args.data)
    runs = read_record(args.record, len(plain[2][1]))

    def run(key, name, factory, epochs, eta, lmbda, data, digest, seed, keep_predictions=False):
        """One network's (test accuracy at best validation, seconds, predictions),
        from the record when it holds this network (with its predictions, when
        they are wanted), else built by ``factory`` after seeding numpy (the layers
        draw their weights from it), trained and recorded."""
        key = record_key(key, seed, epochs, args.train_size, network3.get_num_threads(), eta,
                         lmbda, digest)
        if key in runs and (not keep_predictions or "predictions" in runs[key]):
            r = runs[key]
            print("  {}: from {} ({:.2%}, {:.0f} s with {} threads)".format(
                key, args.record, r["test_at_best"], r["seconds"], r["threads"]), flush=True)
            return r["test_at_best"], r["seconds"], r.get("predictions")
        np.random.seed(seed)
        checkpoint = None
        if args.record is not None:     # a network's epochs so far, kept beside the record
            folder = args.record + ".partial"
            os.makedirs(folder, exist_ok=True)
            checkpoint = os.path.join(folder, hashlib.sha256(key.encode()).hexdigest()[:16])
        net, hist, seconds = train(name, factory(), epochs, eta, lmbda, data, args.verbose,
                                   checkpoint)
        predictions = [int(v) for v in net.predict(data[2][0])] if keep_predictions else None
        if args.record is not None:
            runs[key] = {"test_at_best": hist["test_accuracy_at_best"], "seconds": seconds,
                         "threads": network3.get_num_threads(),
                         "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
            if predictions is not None:
                runs[key]["predictions"] = predictions
            write_record(args.record, runs)
            remove_checkpoint(checkpoint)
        return hist["test_accuracy_at_best"], seconds, predictions
    expanded = None
    rows = []
    print("{:<10} {:>8} {:>8} {:>7} {:>9}  {}".format("rung", "book", "fastnn", "epochs", "seconds",
                                                      "network"))
    for name in args.only or list(LADDER):
        desc, book, factory, epochs, eta, lmbda, use_expanded = LADDER[name]
        epochs = args.epochs if args.epochs is not None else epochs
        if use_expanded and expanded is None:
            expanded = network3.load_data_shared(args.data, expanded=True)
        data = expanded if use_expanded else plain
        if args.train_size is not None:
            data = [(data[0][0][:args.train_size], data[0][1][:args.train_size]), data[1], data[2]]
        digest = data_digest(data) if args.record is not None else None
        if name == "ensemble":
            votes = []
            seconds = 0.0
            dropout = LADDER["dropout"]
            for k in range(args.ensemble_size):
                # member k is the dropout rung's network seeded with seed + k: member 0
                # is that rung itself, and a record of it serves both
                _, s, predictions = run("dropout", name, dropout.layers, epochs, dropout.eta,
                                        dropout.lmbda, data, digest, args.seed + k,
                                        keep_predictions=True)
                seconds += s
                votes.append(predictions)
            votes = np.array(votes)
            majority = np.array([np.bincount(v, minlength=10).argmax() for v in votes.T])
            ours = float(np.mean(majority == data[2][1]))
        else:
            ours, seconds, _ = run(name, name, factory, epochs, eta, lmbda, data, digest, args.seed,
                                   keep_predictions=(name == "dropout"))
        if name == "ensemble":
            desc = "majority vote of {} dropout networks (the book: five)".format(args.ensemble_size)
        rows.append((name, book, ours, epochs, seconds, desc))
        print("{:<10} {:>8.2%} {:>8.2%} {:>7} {:>9.1f}  {}".format(name, book, ours, epochs, seconds, desc),
              flush=True)
    print("threads: {}, dtype float32, mini-batch {}".format(network3.get_num_threads(), MB))
    return rows


if __name__ == "__main__":
    main()
