"""A paramflow run's fold models as an MLflow pyfunc model, with numpy only.

paramflow logs this file with each trained model (code/paramflow_pyfunc.py) beside the data
it reads (data/): every fold's network in the TensorFlow.js layers format (fold-<k>/model.json
and weights.bin), the scalers each fold was trained with (scalers.json) and the x grid the
curves were sampled on (grid.json). MLflow calls _load_pyfunc(data_path); predict() then
gives, per curve, the mean over the fold models of the predicted targets, as
`paramflow predict` does.

Input, one curve per row (a numpy array or a pandas DataFrame):
  - (n, P) values: y sampled on the training grid (grid.json), x taken from the grid;
  - (n, 2P) values: x then y, as the network's features are laid out;
  - (n, 2, P): x and y as two rows per curve.
Output: a pandas DataFrame with one column per target (a numpy array without pandas).
Layers: dense (with its activation), batch_norm (inference: moving statistics), dropout
(identity at inference) and activation: what paramflow's train stage offers.
"""

import json
import math
import os

import numpy as np

_EPS = 1e-12
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _load_pyfunc(data_path):
    return FoldEnsemble(data_path)


class FoldEnsemble:
    def __init__(self, path):
        with open(os.path.join(path, "scalers.json"), encoding="utf-8") as f:
            self.scalers = json.load(f)
        with open(os.path.join(path, "grid.json"), encoding="utf-8") as f:
            self.grid = np.asarray(json.load(f)["x"], dtype=np.float64)
        self.targets = list(self.scalers["targetNames"])
        self.networks = [Network(os.path.join(path, "fold-%d" % k)) for k in range(len(self.scalers["folds"]))]

    def predict(self, model_input, params=None):
        features = curve_features(model_input, self.grid)
        per_fold = []
        for network, scaler in zip(self.networks, self.scalers["folds"]):
            out = network.forward(scale_inputs(scaler["inputs"], features))
            per_fold.append(unscale_targets(scaler["targets"], out))
        mean = np.mean(np.stack(per_fold), axis=0)
        try:
            import pandas as pd
        except ImportError:
            return mean
        return pd.DataFrame(mean, columns=self.targets)


def curve_features(model_input, grid):
    """Rows of x then y values, rounded to float32 as paramflow reads curves."""
    values = model_input.to_numpy() if hasattr(model_input, "to_numpy") else np.asarray(model_input)
    values = np.asarray(values, dtype=np.float64)
    p = grid.shape[0]
    if values.ndim == 3 and values.shape[1:] == (2, p):
        rows = values.reshape(values.shape[0], 2 * p)
    elif values.ndim == 2 and values.shape[1] == 2 * p:
        rows = values
    elif values.ndim == 2 and values.shape[1] == p:
        rows = np.concatenate([np.broadcast_to(grid, values.shape), values], axis=1)
    else:
        raise ValueError(
            "expected curves as (n, %d) y values on the training grid, (n, %d) x then y, or (n, 2, %d); got %s"
            % (p, 2 * p, p, values.shape)
        )
    return rows.astype(np.float32).astype(np.float64)


def _standardize(part):
    mean = part.mean(axis=1, keepdims=True)
    std = np.sqrt(((part - mean) ** 2).mean(axis=1, keepdims=True))
    return (part - mean) / np.where(std > _EPS, std, 1.0)


def scale_inputs(inputs, rows):
    mode = inputs["mode"]
    half = rows.shape[1] // 2
    if mode == "per-feature":
        out = (rows - np.asarray(inputs["mean"])) / np.asarray(inputs["std"])
    elif mode == "per-block":
        (mx, my), (sx, sy) = inputs["mean"], inputs["std"]
        out = np.concatenate([(rows[:, :half] - mx) / sx, (rows[:, half:] - my) / sy], axis=1)
    elif mode == "per-curve":
        out = np.concatenate([_standardize(rows[:, :half]), _standardize(rows[:, half:])], axis=1)
    else:
        out = rows
    return out.astype(np.float32).astype(np.float64)


def unscale_targets(targets, out):
    if not targets["standardize"]:
        return out
    return out * np.asarray(targets["std"]) + np.asarray(targets["mean"])


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


_erf = np.vectorize(math.erf, otypes=[np.float64])

_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "sigmoid": _sigmoid,
    "hardsigmoid": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
    "tanh": np.tanh,
    "softplus": _softplus,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "swish": lambda x: x * _sigmoid(x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "gelunew": lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))),
    "softmax": lambda x: np.exp(x - x.max(axis=-1, keepdims=True))
    / np.exp(x - x.max(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True),
}


def activation(name):
    key = (name or "linear").replace("_", "").lower()
    if key not in _ACTIVATIONS:
        raise ValueError("activation %r is not one paramflow's train stage offers" % name)
    return _ACTIVATIONS[key]


class Network:
    """One fold's Sequential network from its model.json and weights.bin."""

    def __init__(self, folder):
        with open(os.path.join(folder, "model.json"), encoding="utf-8") as f:
            model = json.load(f)
        with open(os.path.join(folder, "weights.bin"), "rb") as f:
            data = f.read()
        self.weights = {}
        offset = 0
        for spec in model["weightsManifest"][0]["weights"]:
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            values = np.frombuffer(data, dtype="<f4", count=count, offset=offset)
            self.weights[spec["name"]] = values.reshape(spec["shape"]).astype(np.float64)
            offset += 4 * count
        self.layers = model["modelTopology"]["config"]["layers"]

    def forward(self, x):
        for layer in self.layers:
            kind, config = layer["class_name"], layer["config"]
            w = lambda name: self.weights.get("%s/%s" % (config["name"], name))
            if kind == "Dense":
                x = x @ w("kernel")
                if config.get("use_bias", True):
                    x = x + w("bias")
                x = activation(config.get("activation"))(x)
            elif kind == "BatchNormalization":
                x = (x - w("moving_mean")) / np.sqrt(w("moving_variance") + config.get("epsilon", 1e-3))
                if config.get("scale", True):
                    x = x * w("gamma")
                if config.get("center", True):
                    x = x + w("beta")
            elif kind == "Activation":
                x = activation(config.get("activation"))(x)
            elif kind != "Dropout":
                raise ValueError("layer %s is not one paramflow's train stage offers" % kind)
        return x
