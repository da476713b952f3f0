"""Training histories as files: ``save(history, path)`` and ``load(path)``.

Three front ends return three shapes, and each is kept as it is:

* ``MLP.fit``: a list of dicts, one per epoch (``epoch``, ``eta``,
  ``seconds``, ``val_cost``, ``val_accuracy``, ``train_cost``,
  ``train_accuracy``, ``gradient_norms``);
* ``network2.Network.SGD``: the book's four lists ``(evaluation_cost,
  evaluation_accuracy, training_cost, training_accuracy)``, empty when not
  monitored;
* ``network3.Network.SGD``: a dict of per-epoch lists plus
  ``best_validation_accuracy``, ``best_iteration`` and ``test_accuracy_at_best``.

JSON holds the object itself (network2's as the book's ``[4 lists]``, the
layout of the book's figure files), so ``load`` gives back what was saved
(network2's four lists as a tuple).  CSV holds one row per epoch, for
spreadsheets and pandas; its first line, a ``#`` comment, names the kind and
carries what is not per epoch, so ``load`` restores the same object from it
too.  The suffix of ``path`` (``.json`` or ``.csv``) picks the format.
"""
import csv
import io
import json
import math
import os

from ._files import atomic_write

NETWORK2_LISTS = ("evaluation_cost", "evaluation_accuracy", "training_cost", "training_accuracy")
NETWORK3_SCALARS = ("best_validation_accuracy", "best_iteration", "test_accuracy_at_best")


def kind(history):
    """``"mlp"``, ``"network2"`` or ``"network3"``; TypeError for anything else."""
    if isinstance(history, dict) and "validation_accuracy" in history:
        return "network3"
    if isinstance(history, (tuple, list)) and len(history) == 4 and \
            all(isinstance(h, list) for h in history) and \
            not any(isinstance(v, dict) for h in history for v in h):
        return "network2"
    if isinstance(history, list) and all(isinstance(h, dict) for h in history):
        return "mlp"
    raise TypeError("not a training history: expected MLP.fit's list of dicts, network2's four "
                    "lists or network3's dict, got {}".format(type(history).__name__))


def save(history, path):
    """Write ``history`` to ``path`` (``.json`` or ``.csv``), atomically."""
    fmt = _format(path)
    kind(history)
    text = _to_json(history) if fmt == "json" else to_csv(history)
    with atomic_write(os.fspath(path), "w") as f:
        f.write(text)


#: The largest history file ``load`` reads: a million epochs of every figure
#: fastnn records fit in a tenth of it.
MAX_BYTES = 256 << 20


def load(path):
    """Read a history saved by ``save`` (or a book figure file in the
    network2 layout); returns the object ``save`` was given.

    Anything that is not such a history raises ValueError naming the file:
    a file over :data:`MAX_BYTES` (read no further), text that is not UTF-8,
    JSON nested deeper than a history is, a CSV cut short, and a history of
    the wrong shape (an epoch that is not a whole number, a figure that is
    not a number, a network3 dict without its best-epoch fields).
    """
    fmt = _format(path)
    with open(path, "rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ValueError("{} holds more than the {:,} bytes of any training history".format(
            path, MAX_BYTES))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("{} is not a history file: not UTF-8 text ({})".format(path, exc)) from None
    if fmt == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError("{} is not valid JSON: {}".format(path, exc)) from None
        except RecursionError:
            raise ValueError("{}: JSON nested too deeply to be a history".format(path)) from None
        if isinstance(data, list) and len(data) == 4 and all(isinstance(h, list) for h in data) \
                and not any(isinstance(v, dict) for h in data for v in h):
            data = tuple(data)
    else:
        data = from_csv(text, path)
    try:
        check(data)
    except (TypeError, ValueError) as exc:
        raise ValueError("{}: {}".format(path, exc)) from None
    return data


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check(history):
    """Raise TypeError or ValueError unless ``history`` has the shape of one
    of the three kinds, with numbers (or None: not measured) where figures go."""
    k = kind(history)
    if k == "network2":
        for name, values in zip(NETWORK2_LISTS, history):
            for j, v in enumerate(values):
                if not _is_number(v):
                    raise ValueError("{}[{}] is {!r}, not a number".format(name, j, v))
    elif k == "network3":
        for name, values in history.items():
            if name in NETWORK3_SCALARS:
                if values is not None and not _is_number(values):
                    raise ValueError("{} is {!r}, not a number".format(name, values))
            elif not isinstance(values, list):
                raise ValueError("{} is {!r}, not a list with one figure per epoch".format(
                    name, values))
            else:
                for j, v in enumerate(values):
                    if v is not None and not _is_number(v):
                        raise ValueError("{}[{}] is {!r}, not a number".format(name, j, v))
        missing = [n for n in NETWORK3_SCALARS if n not in history]
        if missing:
            raise ValueError("a network3 history without {}".format(", ".join(missing)))
    else:
        for j, entry in enumerate(history):
            epoch = entry.get("epoch", 0)
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
                raise ValueError("entry {} has epoch {!r}, not a whole number >= 0".format(j, epoch))
            for name, value in entry.items():
                figures = value if isinstance(value, list) else [value]
                if not all(v is None or _is_number(v) for v in figures):
                    raise ValueError("entry {}: {} is {!r}, not a number".format(j, name, value))


def _format(path):
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in (".json", ".csv"):
        raise ValueError("history files end in .json or .csv, not {!r}".format(os.fspath(path)))
    return suffix[1:]


def _to_json(history):
    if kind(history) == "network2":
        history = [list(h) for h in history]
    return json.dumps(history, default=_plain) + "\n"


def _plain(value):
    """numpy scalars and arrays as plain numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError("cannot write {!r} to a history file".format(value))


# -- one row per epoch -------------------------------------------------------------

def rows(history):
    """``(columns, rows)``: one dict per epoch with flat values, the
    columns in a stable order; ``gradient_norms`` become ``gradient_norm_1``,
    ``gradient_norm_2``, ... (first hidden layer first)."""
    k = kind(history)
    if k == "network2":
        epochs = max(len(h) for h in history)
        table = [{"epoch": j} for j in range(epochs)]
        for name, values in zip(NETWORK2_LISTS, history):
            for j, v in enumerate(values):
                table[j][name] = v
        columns = ["epoch"] + [n for n, v in zip(NETWORK2_LISTS, history) if v]
        return columns, table
    if k == "network3":
        lists = [n for n, v in history.items() if isinstance(v, list)]
        epochs = max((len(history[n]) for n in lists), default=0)
        table = [dict({"epoch": j}, **{n: history[n][j] for n in lists if j < len(history[n])})
                 for j in range(epochs)]
        return ["epoch"] + lists, table
    columns, table = [], []
    for entry in history:
        row = {}
        for name, value in entry.items():
            if isinstance(value, (list, tuple)):
                for i, v in enumerate(value, 1):
                    row["{}_{}".format(name.rstrip("s"), i)] = v
            else:
                row[name] = value
        for name in row:
            if name not in columns:
                columns.append(name)
        table.append(row)
    return columns, table


def to_csv(history):
    """The CSV text of ``history`` (see the module docstring)."""
    k = kind(history)
    extra = {n: history[n] for n in NETWORK3_SCALARS if n in history} if k == "network3" else {}
    columns, table = rows(history)
    out = io.StringIO()
    out.write("# fastnn history: {} {}\n".format(k, json.dumps(extra, default=_plain)))
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({c: _cell(row.get(c)) for c in columns})
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)        # every digit: the CSV reads back to the same float
    return value


def from_csv(text, path="<csv>"):
    """The history object written by ``to_csv``."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# fastnn history: "):
        raise ValueError("{} is not a history CSV written by fastnn (its first line should be "
                         "'# fastnn history: ...')".format(path))
    k, _, extra = lines[0][len("# fastnn history: "):].partition(" ")
    try:
        extra = json.loads(extra or "{}")
    except (ValueError, RecursionError):
        extra = None
    if not isinstance(extra, dict):
        raise ValueError("{}: the first line's fields after the kind are not a JSON "
                         "object".format(path))
    reader = csv.DictReader(lines[1:])
    table = []
    for row in reader:
        if None in row or None in row.values():
            raise ValueError("{}: row {} does not have the {} fields the header names: is the "
                             "file cut short?".format(path, len(table) + 1, len(reader.fieldnames)))
        table.append({c: _number(v) for c, v in row.items() if v != ""})
    if k == "network2":
        columns = reader.fieldnames or []
        return tuple([row[n] for row in table if n in row] if n in columns else []
                     for n in NETWORK2_LISTS)
    if k == "network3":
        history = {c: [row.get(c) for row in table] for c in (reader.fieldnames or []) if c != "epoch"}
        history.update(extra)
        return history
    if k != "mlp":
        raise ValueError("{}: unknown history kind {!r}".format(path, k))
    history = []
    for row in table:
        entry, norms = {}, []
        for c, v in row.items():
            if c.startswith("gradient_norm_"):
                norms.append((int(c.rsplit("_", 1)[1]), v))
            else:
                entry[c] = v
        if norms:
            entry["gradient_norms"] = [v for _, v in sorted(norms)]
        history.append(entry)
    return history


def _number(text):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


# -- a common view, for plots ------------------------------------------------------

def curves(history):
    """The per-epoch series of any history under common names:
    ``val_accuracy``, ``val_cost``, ``train_accuracy``, ``train_cost`` (and
    ``gradient_norms`` as one list per epoch), only those present.  Accuracies
    are as recorded: fractions for MLP and network3, counts for network2."""
    k = kind(history)
    if k == "network2":
        names = ("val_cost", "val_accuracy", "train_cost", "train_accuracy")
        return {n: list(v) for n, v in zip(names, history) if v}
    if k == "network3":
        out = {}
        if history.get("validation_accuracy"):
            out["val_accuracy"] = list(history["validation_accuracy"])
        if history.get("training_cost"):
            out["train_cost"] = list(history["training_cost"])
        return out
    out = {}
    for name in ("val_accuracy", "val_cost", "train_accuracy", "train_cost", "gradient_norms"):
        values = [h.get(name) for h in history]
        if any(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values):
            out[name] = values
    return out


def plot(runs, path, title=None):
    """Draw one PNG comparing training runs: accuracy (left) and cost
    (right, when a run recorded one) against epochs, one colour per run,
    validation solid and training dashed, the legend below the panels.
    ``runs`` is a list of ``(label, history)``; needs matplotlib (``pip
    install 'fastnn[plot]'``), drawn headless.

    network2's accuracies are counts of correct examples, of the evaluation
    data and of the training data, which differ in size: their training
    counts get an axis of their own, on the right.  Epochs are whole
    numbers, and every epoch is marked, so a run of one epoch shows."""
    from .figures import _save
    _save(draw(runs, title), path)


def draw(runs, title=None):
    """The matplotlib Figure that :func:`plot` saves."""
    from matplotlib.ticker import MaxNLocator
    from .figures import COLORS, new_figure
    series = [(label, kind(history), curves(history)) for label, history in runs]
    with_cost = any(name in c for _, _, c in series for name in ("val_cost", "train_cost"))
    fig, axes = new_figure((11, 4.5), 1, 2 if with_cost else 1)
    acc, cost = (axes[0], axes[1]) if with_cost else (axes, None)
    counts = acc.twinx() if any(k == "network2" and "train_accuracy" in c
                                for _, k, c in series) else None
    colors = COLORS + ["#8E44AD", "#555555", "#C0392B", "#16A085"]
    for i, (label, k, c) in enumerate(series):
        color = colors[i % len(colors)]
        for ax, name, style, what in ((acc, "val_accuracy", "-", "validation"),
                                      (counts if k == "network2" else acc, "train_accuracy", "--",
                                       "training"),
                                      (cost, "val_cost", "-", "validation"),
                                      (cost, "train_cost", "--", "training")):
            values = c.get(name)
            if values and ax is not None:
                ax.plot(range(len(values)), values, style, color=color, marker="o",
                        markersize=3 if len(values) > 1 else 6, label="{} ({})".format(label, what))
    panels = [(acc, "Accuracy")] + ([(cost, "Cost")] if cost is not None else [])
    for ax, name in panels:
        ax.set_xlabel("Epoch")
        ax.set_title(name)
        ax.grid(True)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if max((len(line.get_xdata()) for line in ax.lines), default=0) == 1:
            ax.set_xlim(-0.5, 0.5)
    if any(k == "network2" for _, k, _ in series):
        acc.set_ylabel("correct examples (evaluation data)" if counts is not None else
                       "correct examples")
    if counts is not None:
        counts.set_ylabel("correct examples (training data, dashed)")
    handles, labels = [], []
    for ax in [acc, counts, cost]:
        if ax is not None:
            for handle, text in zip(*ax.get_legend_handles_labels()):
                if text not in labels:      # a run's accuracy and cost lines share their styles
                    handles.append(handle)
                    labels.append(text)
    rows = 0
    if handles:
        columns = min(len(handles), 4)
        rows = -(-len(handles) // columns)
        fig.legend(handles, labels, loc="lower center", ncol=columns, fontsize="small",
                   frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, min(0.45, 0.06 * rows), 1, 1))
    return fig
