"""A paramflow command stage in Python (numpy only): smooths each noisy curve with a
moving average before training.

paramflow hands the inputs over as .npy files and the params as a JSON file; the
script writes its declared outputs where paramflow says, and may write metrics.json
(and PNG plots) into its output folder. See pipelines/python-stage.yaml.
"""
import argparse
import json
import os

import numpy as np


def moving_average(y: np.ndarray, window: int) -> np.ndarray:
    """Mean over `window` neighbouring points of each row, shrinking at the edges."""
    half = window // 2
    cumsum = np.cumsum(np.pad(y.astype(np.float64), ((0, 0), (1, 0))), axis=1)
    points = y.shape[1]
    lo = np.clip(np.arange(points) - half, 0, points)
    hi = np.clip(np.arange(points) + half + 1, 0, points)
    return (cumsum[:, hi] - cumsum[:, lo]) / (hi - lo)


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("x", "y", "targets", "params", "out-x", "out-y", "out-targets"):
        ap.add_argument(f"--{name}", required=True)
    a = ap.parse_args()
    params = json.load(open(a.params))
    window = int(params.get("window", 5))

    y = np.load(a.y)
    smoothed = moving_average(y, window).astype(y.dtype)
    np.save(a.out_y, smoothed)
    # X and targets pass through unchanged, so train can read all three from this stage.
    np.save(a.out_x, np.load(a.x))
    np.save(a.out_targets, np.load(a.targets))

    removed = float(np.sqrt(np.mean((y.astype(np.float64) - smoothed) ** 2)))
    with open(os.path.join(os.environ["PARAMFLOW_OUT"], "metrics.json"), "w") as f:
        json.dump({"smooth_removed_rms": removed}, f)
    print(f"smoothed {y.shape[0]} curves of {y.shape[1]} points (window {window}); removed rms {removed:.4g}")


if __name__ == "__main__":
    main()
