"""The registry of activations (fastnn.activations): every row against its
C line, its derivative against finite differences, its parameters' checks,
and leaky ReLU through every front end (MLP, network3, the CLI, saved files).

Everything here is parametrized over the registry, so a new row is tested
by default; so are the equivalence tests in test_engine.py and
test_network3.py and the gradient checks in test_gradcheck.py.
"""
import json
import math
import pickle

import numpy as np
import pytest

from helpers import assert_close

from fastnn import MLP, activations, network3, reference, reference3, trainer
from fastnn._core import _conv, _dense

HIDDEN = [activations.get(name) for name in activations.HIDDEN]
WITH_PARAMS = [row for row in activations.REGISTRY.values() if row.params]


def other_values(row):
    """Each parameter at a value other than its default that its check allows."""
    return {p.name: p.default * 7 + 0.05 for p in row.params}


def every_setting():
    """Every hidden activation with its defaults, and those with parameters
    at other values too."""
    out = list(HIDDEN)
    out += [activations.get(row.name, **other_values(row)) for row in WITH_PARAMS if row.hidden]
    return out


SETTINGS = every_setting()


def test_registry_rows_are_the_kernels_lines():
    """Every elementwise row has the code of the same line of
    _core/_activations.h, and the header has no line the registry lacks."""
    elementwise = {name: row.code for name, row in activations.REGISTRY.items()
                   if row.prime is not None}
    assert _dense.activation_codes() == elementwise
    assert activations.CODES["softmax"] not in _dense.activation_codes().values()


@pytest.mark.parametrize("act", SETTINGS, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
def test_derivative_from_output_matches_finite_differences(act, dtype):
    """act.prime(act(z)) against central differences of act at z, away from
    z = 0 (the kink of the ReLUs).  float64: h = 1e-6, error about 1e-10;
    float32 is checked with the float64 finite difference at 1e-6 relative
    (the derivative is computed in float32 from a float32 output)."""
    z = np.concatenate([np.linspace(-4, -0.01, 40), np.linspace(0.01, 4, 40)])
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    a = act(z.astype(dtype))
    assert a.dtype == dtype, "{} changed the dtype to {}".format(act, a.dtype)
    derivative = act.prime(a)
    assert derivative.dtype == dtype
    assert_close(derivative.astype(np.float64), numeric, "{} derivative from its output".format(act),
                 rtol=1e-8 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("act", SETTINGS, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
def test_kernels_value_and_derivative_match_the_reference(act, dtype):
    """One hidden layer whose weights are the identity: the compiled forward
    pass gives act(z), and backprop's hidden error act'(a), as the numpy path
    computes them (z includes 0 and both signs).  Exact but for the C
    library's exp and tanh against numpy's, which differ by an ulp: 1e-15
    (float64) and 1e-6 (float32) normwise."""
    rtol = 1e-15 if dtype == np.float64 else 1e-6
    n = 9
    z = np.linspace(-3, 3, n).astype(dtype)          # 0 is one of them
    X = z[None, :].copy()
    weights = [np.eye(n, dtype=dtype), np.eye(n, dtype=dtype)]
    biases = [np.zeros(n, dtype), np.zeros(n, dtype)]
    spec = trainer.Spec(act, "sigmoid", "quadratic")
    for name, module in (("compiled", _dense), ("numpy", reference)):
        out = module.feedforward(weights, biases, X, spec)
        assert_close(out, reference.feedforward(weights, biases, X, spec),
                     "{} {} output".format(name, act), rtol=rtol)
    Y = np.zeros_like(X)
    got = _dense.backprop(weights, biases, X, Y, spec)
    want = reference.backprop(weights, biases, X, Y, spec)
    assert_close(got[0][0], want[0][0], "{} layer 1 nabla_b (act')".format(act), rtol=rtol)


@pytest.mark.parametrize("row", WITH_PARAMS, ids=lambda r: r.name)
def test_bad_parameter_values_are_refused_by_name(row):
    for p in row.params:
        for bad in (math.nan, math.inf, -math.inf):
            with pytest.raises(ValueError, match="{} {} must be finite".format(row.name, p.name)):
                activations.get(row.name, **{p.name: bad})
        for bad in ("0.1", None, True, [0.1]):
            with pytest.raises(TypeError, match="{} {}".format(row.name, p.name)):
                activations.get(row.name, **{p.name: bad})
    with pytest.raises(ValueError, match="has no parameter 'nope'"):
        activations.get(row.name, nope=1.0)


def test_leaky_relu_slope_must_be_non_negative():
    with pytest.raises(ValueError, match="slope must be >= 0"):
        activations.get("leaky_relu", slope=-0.1)
    with pytest.raises(ValueError, match="slope must be >= 0"):
        MLP([3, 4, 2], activation=activations.get("leaky_relu", slope=-1))
    assert activations.get("leaky_relu", slope=0).param == 0.0        # ReLU, allowed
    assert activations.get("leaky_relu").param == 0.01


def test_names_and_parameters_are_refused_where_they_do_not_belong():
    with pytest.raises(ValueError, match="has no parameter 'slope'"):
        activations.get("relu", slope=0.1)
    with pytest.raises(ValueError, match="unknown activation 'softplus'"):
        activations.get("softplus")
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP([3, 4, 2], activation=activations.get("softmax"))
    with pytest.raises(ValueError, match="output must be one of"):
        MLP([3, 4, 2], output=activations.get("leaky_relu"))


def test_kernels_refuse_unknown_codes_and_bad_parameters():
    """The compiled modules check what reaches C: an activation code without
    a line in _activations.h, and a parameter that is not a finite number."""
    w, b = [np.ones((2, 3))], [np.zeros(2)]
    X = np.ones((1, 3))

    class Spec(object):
        activation, output, cost, activation_param = 2, 0, 1, 0.0
    Spec.activation = 9
    with pytest.raises(ValueError, match="spec.activation: unknown activation code 9"):
        _dense.feedforward(w + w[:0], b, X, Spec)
    Spec.activation = 5
    for bad, error in ((math.nan, ValueError), ("x", TypeError)):
        Spec.activation_param = bad
        with pytest.raises(error, match="spec.activation_param"):
            _dense.feedforward(w, b, X, Spec)
    fc = dict(kind="fc", w=np.zeros((3, 2)), b=np.zeros(2))
    with pytest.raises(ValueError, match="layer 0: unknown activation code 99"):
        _conv._check_spec(0, dict(fc, act=99), np.dtype(np.float64))
    with pytest.raises(ValueError, match="layer 0: unknown activation code 4294967298"):
        _conv._check_spec(0, dict(fc, act=2**32 + 2), np.dtype(np.float64))
    with pytest.raises(ValueError, match="layer 0: unknown activation code 'ReLU'"):
        _conv._check_spec(0, dict(fc, act="ReLU"), np.dtype(np.float64))
    with pytest.raises(ValueError, match="layer 0: the activation's parameter"):
        _conv._check_spec(0, dict(fc, act=5, act_param=math.inf), np.dtype(np.float64))


# ---------------------------------------------------------------------------
# Leaky ReLU in every front end
# ---------------------------------------------------------------------------

def blobs(n=200, n_in=6, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_out, n_in)) * 3
    y = rng.integers(n_out, size=n)
    return centres[y] + rng.standard_normal((n, n_in)), y


@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-12), (np.float32, 1e-5)],
                         ids=["float64", "float32"])
def test_mlp_leaky_relu_trains_alike_on_both_backends(dtype, atol):
    """Three epochs of a [6, 12, 12, 3] leaky ReLU (slope 0.2) net: weights
    agree (measured: float64 within about 1e-15, float32 about 1e-7)."""
    X, y = blobs()
    act = activations.get("leaky_relu", slope=0.2)
    nets = {}
    for backend in ("cython", "numpy"):
        net = MLP([6, 12, 12, 3], activation=act, output="softmax", cost="log_likelihood",
                  dtype=dtype, backend=backend, seed=3)
        net.fit(X, y, epochs=3, batch_size=10, learning_rate=0.05, momentum=0.5, shuffle=True)
        nets[backend] = net
    for l in range(3):
        assert_close(nets["cython"].weights[l], nets["numpy"].weights[l],
                     "leaky_relu layer {} weights".format(l + 1), atol=atol)
    assert nets["cython"].score(X, y) > 0.9
    # a slope is not ignored: slope 0 (ReLU) ends elsewhere
    relu = MLP([6, 12, 12, 3], activation="relu", output="softmax", cost="log_likelihood",
               dtype=dtype, seed=3)
    relu.fit(X, y, epochs=3, batch_size=10, learning_rate=0.05, momentum=0.5)
    assert np.abs(relu.weights[0] - nets["cython"].weights[0]).max() > 1e-3


def test_mlp_save_and_load_keep_the_slope(tmp_path):
    net = MLP([4, 5, 2], activation=activations.get("leaky_relu", slope=0.25), seed=1)
    assert "leaky_relu(slope=0.25)" in repr(net)
    net.save(str(tmp_path / "net.json"))
    saved = json.loads((tmp_path / "net.json").read_text())
    assert saved["activation"] == "leaky_relu" and saved["activation_params"] == {"slope": 0.25}
    loaded = MLP.load(str(tmp_path / "net.json"))
    assert loaded.spec.hidden == activations.get("leaky_relu", slope=0.25)
    X = np.random.default_rng(0).standard_normal((7, 4))
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    # a file from before the parameter was recorded gets the default slope
    del saved["activation_params"]
    (tmp_path / "old.json").write_text(json.dumps(saved))
    assert MLP.load(str(tmp_path / "old.json")).spec.hidden == activations.get("leaky_relu")
    # and a file with a bad one is refused, naming the file
    saved["activation_params"] = {"slope": -2}
    (tmp_path / "bad.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="bad.json.*not a valid saved network.*slope"):
        MLP.load(str(tmp_path / "bad.json"))


@pytest.mark.parametrize("activation_fn", [network3.LeakyReLU, "leaky_relu",
                                           activations.get("leaky_relu", slope=0.3)], ids=str)
def test_network3_takes_leaky_relu_in_conv_and_dense_layers(activation_fn):
    """ConvPoolLayer and FullyConnectedLayer with leaky ReLU: one mini-batch
    step on both backends agrees (float64, 1e-12 normwise)."""
    m = 4

    def layers():
        np.random.seed(2)
        return [network3.ConvPoolLayer(image_shape=(m, 1, 8, 8), filter_shape=(3, 1, 3, 3),
                                       poolsize=(2, 2), activation_fn=activation_fn),
                network3.FullyConnectedLayer(n_in=3 * 3 * 3, n_out=6, activation_fn=activation_fn),
                network3.SoftmaxLayer(n_in=6, n_out=3)]
    rng = np.random.default_rng(0)
    X, y = rng.random((m * 5, 64)), rng.integers(0, 3, m * 5)
    nets = {}
    for backend in ("cython", "numpy"):
        net = network3.Network(layers(), m, dtype=np.float64, backend=backend, seed=1)
        net.SGD((X, y), 2, m, 0.1, (X[:m], y[:m]), None, verbose=False)
        nets[backend] = net
    want = reference3.as_activation(nets["numpy"].layers[0].activation_fn)
    assert want.name == "leaky_relu"
    for l, (a, b) in enumerate(zip(nets["cython"].layers, nets["numpy"].layers)):
        assert_close(a.w, b.w, "layer {} w".format(l), rtol=1e-12)
        assert_close(a.b, b.b, "layer {} b".format(l), rtol=1e-12)


def test_activations_and_networks_using_them_pickle():
    """By name and values (a Dask search or joblib sends networks to other
    processes): the copy is equal and trains the same."""
    act = activations.get("leaky_relu", slope=0.2)
    assert pickle.loads(pickle.dumps(act)) == act
    net = MLP([4, 5, 2], activation=act, seed=0)
    copy = pickle.loads(pickle.dumps(net))
    assert copy.spec.hidden == act and copy.spec.activation_param == 0.2
    assert copy.spec.hidden != activations.get("leaky_relu")


def test_network3_refuses_an_output_activation_as_activation_fn():
    with pytest.raises(TypeError, match="activation_fn must be"):
        network3.FullyConnectedLayer(2, 3, activation_fn=activations.get("softmax"))
