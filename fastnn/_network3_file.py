"""network3 networks on disk: ``network3.Network.save`` and ``network3.load``.

A saved network is one ``.npz`` file (what ``fastnn train --preset ... --out``
writes as ``network.npz``), with no pickled objects in it:

* ``w0``, ``b0``, ``w1``, ``b1``, ...: each layer's parameters, in the
  layers' order and the network's dtype;
* ``network``: a JSON text describing the network, so that ``load`` can
  rebuild it: ``{"format": "fastnn.network3", "version": 1,
  "mini_batch_size": 10, "dtype": "float32", "layers": [...]}``, each layer
  ``{"type": "ConvPoolLayer", "filter_shape": [...], "image_shape": [...],
  "poolsize": [...], "activation_fn": ...}`` or ``{"type":
  "FullyConnectedLayer"/"SoftmaxLayer", "n_in": .., "n_out": ..,
  "p_dropout": .., "activation_fn": ...}``; an activation is one of the
  book's names (``"ReLU"``) or ``{"name": "leaky_relu", "params": {"slope":
  0.01}}`` for one of ``fastnn.activations``;
* ``training``: a JSON text of ``Network.training_state()`` (the optimizer
  and its state, the dropout generator), so that training goes on exactly.

Files written by fastnn before ``network`` was added hold only the arrays
and ``training``: ``load_weights`` puts them into a network built the same
way (what ``fastnn train --resume`` does), and ``load`` rebuilds the network
from the chapter 6 preset that ``settings.json`` beside the file names.

Reading is checked before anything is used: every array's header is read
first (shape, dtype, no Python objects, no more data declared than the file
holds), then the arrays are compared with the layers; JSON that is broken or
nested too deeply, a missing array, a wrong shape, NaN or infinite values
raise ValueError naming the file and what is wrong, and a file whose
arrays declare more than ``MAX_BYTES`` is refused before any is read.
"""
import json
import math
import os
import zipfile

import numpy as np

from ._files import atomic_write

FORMAT = "fastnn.network3"
VERSION = 1

#: The most bytes the arrays of a saved network may declare, all together
#: (the JSON texts count 4 bytes a character, as numpy stores them): far
#: above any chapter 6 network with its optimizer state, far below what a
#: hostile header could make ``np.load`` allocate.
MAX_BYTES = 4 << 30


def save(net, filename):
    """Write ``net`` (a ``network3.Network``) to ``filename`` atomically."""
    arrays = {}
    for i, layer in enumerate(net.layers):
        arrays["w{}".format(i)], arrays["b{}".format(i)] = layer.w, layer.b
    arrays["network"] = np.array(json.dumps(describe(net)))
    arrays["training"] = np.array(json.dumps(net.training_state()))
    with atomic_write(filename, "wb", suffix=".npz") as f:
        np.savez(f, **arrays)


def describe(net):
    """The JSON-ready description of ``net``'s layers that ``build`` reverses."""
    layers = []
    for layer in net.layers:
        kind = type(layer).__name__
        if kind == "ConvPoolLayer":
            d = dict(type=kind, filter_shape=list(layer.filter_shape),
                     image_shape=list(layer.image_shape), poolsize=list(layer.poolsize),
                     activation_fn=_activation_name(layer.activation_fn))
        else:
            d = dict(type=kind, n_in=layer.n_in, n_out=layer.n_out, p_dropout=layer.p_dropout)
            if kind == "FullyConnectedLayer":
                d["activation_fn"] = _activation_name(layer.activation_fn)
        layers.append(d)
    return dict(format=FORMAT, version=VERSION, mini_batch_size=net.mini_batch_size,
                dtype=np.dtype(net.dtype).name, layers=layers)


def _activation_name(fn):
    from . import activations
    if isinstance(fn, activations.Activation):
        return {"name": fn.name, "params": dict(fn.params)}
    return fn.__name__          # one of the book's four functions


def load(filename, backend=None):
    """The network saved in ``filename`` (or in ``filename/network.npz`` for
    a folder), with its weights and training state."""
    path = _path(filename)
    description, arrays, training = read(path)
    if description is None:
        net = _preset_beside(path, arrays, backend)
    else:
        net = build(description, path, backend)
    _put(net, path, arrays, training)
    return net


def load_weights(net, filename):
    """Put the weights, biases and training state saved in ``filename`` into
    ``net``'s layers, after checking that they fit them; nothing is changed
    when they do not."""
    path = _path(filename)
    _, arrays, training = read(path)
    _put(net, path, arrays, training)


def _preset_beside(path, arrays, backend):
    """The network of a file written before the description was saved: a
    ``fastnn train --preset`` folder names its preset in ``settings.json``."""
    from . import network3
    from .ladder import LADDER, MB
    settings_path = os.path.join(os.path.dirname(path), "settings.json")
    preset = None
    if os.path.isfile(settings_path) and os.path.getsize(settings_path) <= 1 << 20:
        try:
            with open(settings_path, "rb") as f:
                preset = json.loads(f.read()).get("preset")
        except (ValueError, AttributeError, RecursionError):
            preset = None
    if not isinstance(preset, str) or preset not in LADDER or LADDER[preset].layers is None:
        raise ValueError("{}: the file holds weights but no description of the network (an "
                         "older fastnn wrote it) and no settings.json beside it names the "
                         "chapter 6 preset it was trained as".format(path))
    dtype = arrays["w0"].dtype if "w0" in arrays and arrays["w0"].dtype.kind == "f" else "float32"
    state = np.random.get_state()
    try:
        return network3.Network(LADDER[preset].layers(), MB, dtype=dtype, backend=backend)
    finally:
        np.random.set_state(state)


def _path(filename):
    path = os.fspath(filename)
    if os.path.isdir(path):
        path = os.path.join(path, "network.npz")
    if not os.path.isfile(path):
        raise FileNotFoundError("no saved network at {}".format(path))
    return path


def read(path):
    """``(description or None, arrays, training state or None)`` from the
    file, each checked for what can be checked without a network."""
    def bad(problem):
        return ValueError("{} is not a readable saved network3 network: {}".format(path, problem))
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
            if declared > MAX_BYTES:
                raise bad("its arrays declare {:,} bytes, more than the {:,} a saved network may "
                          "hold".format(declared, MAX_BYTES))
            for info in archive.infolist():
                with archive.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                              np.lib.format.read_array_header_2_0)
                    shape, _, dtype = header(f)
                if dtype.hasobject:
                    raise bad("{} holds Python objects".format(info.filename))
                if math.prod(shape) * dtype.itemsize > info.file_size:
                    raise bad("{} declares shape {} of {}, more than the file holds".format(
                        info.filename, shape, dtype))
        with np.load(path, allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files}
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise bad("{}: {}".format(type(exc).__name__, exc)) from None
    except MemoryError:
        raise
    except Exception as exc:     # BadZipFile, EOFError, zlib.error, a bad header: one answer
        raise bad("{}: {}".format(type(exc).__name__, exc)) from None
    description = _json(arrays.pop("network", None), "network", bad)
    training = _json(arrays.pop("training", None), "training", bad)
    if description is not None:
        if not isinstance(description, dict) or description.get("format") != FORMAT:
            raise bad("its network description is not a {} description".format(FORMAT))
        if description.get("version") != VERSION:
            raise bad("its description has version {!r}; this fastnn reads version {}".format(
                description.get("version"), VERSION))
    return description, arrays, training


def _json(value, name, bad):
    if value is None:
        return None
    if value.shape != () or value.dtype.kind != "U":
        raise bad("{} is not a JSON text".format(name))
    try:
        return json.loads(str(value))
    except ValueError as exc:
        raise bad("{} is not complete JSON ({})".format(name, exc)) from None
    except RecursionError:
        raise bad("{}'s JSON is nested too deeply".format(name)) from None


def build(description, path, backend=None):
    """A new ``network3.Network`` of the described layers (their parameters
    are drawn as usual, then replaced by the caller; the global numpy
    generator is left as it was)."""
    from . import activations, network3

    def bad(problem):
        return ValueError("{}: its network description: {}".format(path, problem))
    layers_d = description.get("layers")
    if not isinstance(layers_d, list) or not layers_d:
        raise bad("layers must be a non-empty list")
    kinds = {"ConvPoolLayer": network3.ConvPoolLayer,
             "FullyConnectedLayer": network3.FullyConnectedLayer,
             "SoftmaxLayer": network3.SoftmaxLayer}
    keys = {"ConvPoolLayer": ("filter_shape", "image_shape", "poolsize", "activation_fn"),
            "FullyConnectedLayer": ("n_in", "n_out", "activation_fn", "p_dropout"),
            "SoftmaxLayer": ("n_in", "n_out", "p_dropout")}
    state = np.random.get_state()       # layers draw their initial values: keep the caller's
    try:
        layers = []
        for j, d in enumerate(layers_d):
            kind = d.get("type") if isinstance(d, dict) else None
            if kind not in kinds:
                raise bad("layer {}: unknown type {!r}".format(j, kind))
            if set(d) != set(keys[kind]) | {"type"}:
                raise bad("layer {} ({}) must have exactly the keys {}".format(
                    j, kind, ", ".join(keys[kind])))
            args = {k: d[k] for k in keys[kind]}
            fn = args.get("activation_fn")
            if isinstance(fn, dict) and (set(fn) != {"name", "params"} or
                                         not isinstance(fn["params"], dict)):
                raise bad("layer {}: activation_fn must be a name or {{name, params}}".format(j))
            try:
                if isinstance(fn, dict):
                    args["activation_fn"] = activations.get(fn["name"], **fn["params"])
                layers.append(kinds[kind](**args))
            except (TypeError, ValueError, MemoryError) as exc:
                raise bad("layer {} ({}): {}".format(j, kind, exc)) from None
        try:
            return network3.Network(layers, description.get("mini_batch_size"),
                                    dtype=description.get("dtype"), backend=backend)
        except (TypeError, ValueError) as exc:
            raise bad(str(exc)) from None
    finally:
        np.random.set_state(state)


def _put(net, path, arrays, training):
    """Check ``arrays`` (and ``training``) against ``net``'s layers, then
    copy them in."""
    def bad(problem):
        return ValueError("{}: {}".format(path, problem))
    expected = set()
    for i, layer in enumerate(net.layers):
        for name, like in (("w{}".format(i), layer.w), ("b{}".format(i), layer.b)):
            expected.add(name)
            if name not in arrays:
                raise bad("it lacks {}: it is not this network's file".format(name))
            a = arrays[name]
            if a.shape != like.shape or a.dtype.kind != "f":
                raise bad("{} is {} {}, but layer {} needs {} {}".format(
                    name, a.dtype, a.shape, i, like.dtype, like.shape))
            if not np.all(np.isfinite(a)):
                raise bad("{} holds NaN or infinite values".format(name))
    extra = sorted(set(arrays) - expected)
    if extra:
        raise bad("it holds arrays this network does not have: {}".format(", ".join(extra)))
    # the training state is checked (and built) before any weight is changed
    new_state = None
    if training is not None:
        from . import optimizers
        try:
            new_state = optimizers.load_training_state(
                training, [(layer.w, layer.b) for layer in net.layers])
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise bad("its training state: {}".format(exc)) from None
    for i, layer in enumerate(net.layers):
        layer.w[...] = arrays["w{}".format(i)]
        layer.b[...] = arrays["b{}".format(i)]
    if new_state is not None:
        net._step, net.rng = new_state
