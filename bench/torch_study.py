#!/usr/bin/python3
"""PyTorch (CPU) peer of paramflow's train stage for pipelines/seed-study.yaml (bench/study-train.mjs).

Trains the same workload as stages/train/*.ts on paramflow's own cached arrays: per fold k,
the rows of the other non-holdout folds train and fold k validates (fold id -1 = holdout, in
neither: features.ts foldIndices); inputs are each curve's x values then its y values
(curveFeatures), standardised per block (one mean/std for all x values, one for all y values,
population std, fitted on the fold's training rows: scalers.ts blockStats); targets standardised
per column on the same rows; Dense layers with glorot-uniform kernels and zero biases (tfjs's
defaults, layers.ts); Adam with tfjs's defaults (beta1 0.9, beta2 0.999, eps 1e-7: torch's own
1e-8 would be another optimizer); MSE; a fresh shuffle each epoch with a partial last batch
(loop.ts); val_loss after every epoch as paramflow computes it (mean squared residual over every
validation value, in float64). Fixed epochs: no early stopping, so both sides do equal work.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_study.py --data CACHE/<noise key>
      --folds CACHE/<folds key>/folds.npy [--epochs 20] [--layers 64:relu,4:linear]
      [--batch-size 64] [--lr 0.001] [--beta1 0.9] [--beta2 0.999] [--eps 1e-7]
      [--threads 1] [--flush-denormal] [--seed 0] [--json OUT]

--json writes {total_s, fold_s[], epoch_s[fold][epoch], loss/val_loss[fold][epoch],
cv_rmse_mean, ...}: total_s counts everything after the arrays are read (features, scalers,
models, training, validation), like paramflow's stage time minus its input loading. Needs
Debian's python3-torch, python3-numpy and libopenblas0-pthread.
"""
import argparse
import json
import os
import sys
import time

VALIDATION_BATCH = 1024  # loop.ts: rows per forward pass for val_loss (memory only)
EPS = 1e-12  # scalers.ts: a std below this is taken as 1 (centred, not scaled)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the noise stage's cache folder (X.npy, Y.npy, targets.npy)")
    ap.add_argument("--folds", required=True, help="split-folds' folds.npy")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--layers", default="64:relu,4:linear", help="dense layers as units:activation")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--eps", type=float, default=1e-7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--flush-denormal", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    return ap.parse_args()


def block_scaler(np, x):
    """scalers.ts blockStats: float64 mean and population std of each half of the columns."""
    half = x.shape[1] // 2
    stats = []
    for part in (x[:, :half], x[:, half:]):
        p = part.astype(np.float64)
        mean = p.mean()
        std = np.sqrt(((p - mean) ** 2).mean())
        stats.append((mean, std if std > EPS else 1.0))
    return stats


def scale_blocks(np, x, stats):
    """scalers.ts scaleInputs (per-block): computed in float64, stored as float32."""
    half = x.shape[1] // 2
    out = np.empty(x.shape, dtype=np.float32)
    for (mean, std), cols in zip(stats, (slice(0, half), slice(half, None))):
        out[:, cols] = (x[:, cols].astype(np.float64) - mean) / std
    return out


def main():
    args = parse_args()
    # OpenBLAS reads its thread count when it loads: set before numpy and torch are imported.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    if args.flush_denormal and not torch.set_flush_denormal(True):
        sys.exit("torch_study: this CPU cannot flush denormals (torch.set_flush_denormal returned False)")
    torch.manual_seed(args.seed)
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": None}
    layers = []
    for item in args.layers.split(","):
        units, _, act = item.partition(":")
        if (act or "linear") not in acts:
            sys.exit(f"torch_study: activation {act} not supported (choose from {', '.join(acts)})")
        layers.append((int(units), act or "linear"))

    X = np.load(os.path.join(args.data, "X.npy"))
    Y = np.load(os.path.join(args.data, "Y.npy"))
    T = np.load(os.path.join(args.data, "targets.npy")).astype(np.float32)
    if T.ndim == 1:
        T = T[:, None]
    folds = np.load(args.folds)
    if X.shape != Y.shape or X.shape[0] != T.shape[0] or folds.shape != (X.shape[0],):
        sys.exit(f"torch_study: shapes do not fit: X {X.shape}, Y {Y.shape}, targets {T.shape}, folds {folds.shape}")
    if layers[-1][0] != T.shape[1]:
        sys.exit(f"torch_study: the last layer has {layers[-1][0]} units for {T.shape[1]} targets")
    k = int(folds.max()) + 1

    def build(inputs):
        mods, width = [], inputs
        for units, act in layers:
            lin = nn.Linear(width, units)
            # tfjs glorot_uniform: U(±sqrt(6 / (fan_in + fan_out))); biases zero (torch's defaults differ).
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
            mods.append(lin)
            if acts[act]:
                mods.append(acts[act]())
            width = units
        return nn.Sequential(*mods)

    def validation(model, vx, vt):
        """loop.ts validationLoss for MSE, plus the RMSE per target (evaluate's cv_rmse on standardised targets)."""
        model.eval()
        sq = np.zeros(vt.shape[1])
        with torch.no_grad():
            for s in range(0, vx.shape[0], VALIDATION_BATCH):
                r = model(vx[s:s + VALIDATION_BATCH]).numpy().astype(np.float64) - vt[s:s + VALIDATION_BATCH].numpy()
                sq += (r * r).sum(axis=0)
        model.train()
        return float(sq.sum() / max(1, vt.numel())), np.sqrt(sq / max(1, vt.shape[0]))

    loss_fn = nn.MSELoss()
    report = {"torch": torch.__version__, "threads": args.threads, "flush_denormal": args.flush_denormal,
              "openblas_env": {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
              "folds": k, "epochs": args.epochs, "batch_size": args.batch_size, "layers": args.layers,
              "fold_s": [], "epoch_s": [], "loss": [], "val_loss": [], "fold_rmse": []}
    gen = torch.Generator().manual_seed(args.seed + 1)
    started = time.perf_counter()
    for fold in range(k):
        f0 = time.perf_counter()
        train, val = np.flatnonzero((folds >= 0) & (folds != fold)), np.flatnonzero(folds == fold)
        if not len(train) or not len(val):
            sys.exit(f"torch_study: fold {fold} has {len(train)} training and {len(val)} validation rows")
        raw = np.concatenate([X[train], Y[train]], axis=1)  # features.ts curveFeatures: x then y
        stats = block_scaler(np, raw)
        tmean, tstd = T[train].astype(np.float64).mean(axis=0), T[train].astype(np.float64).std(axis=0)
        tstd = np.where(tstd > EPS, tstd, 1.0)
        tx = torch.from_numpy(scale_blocks(np, raw, stats))
        tt = torch.from_numpy(((T[train] - tmean) / tstd).astype(np.float32))
        vx = torch.from_numpy(scale_blocks(np, np.concatenate([X[val], Y[val]], axis=1), stats))
        vt = torch.from_numpy(((T[val] - tmean) / tstd).astype(np.float32))
        del raw
        model = build(tx.shape[1])
        opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps)
        epochs, losses, vals = [], [], []
        for _ in range(args.epochs):
            e0 = time.perf_counter()
            order = torch.randperm(tx.shape[0], generator=gen)
            total = 0.0
            for s in range(0, tx.shape[0], args.batch_size):
                idx = order[s:s + args.batch_size]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(tx[idx]), tt[idx])
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)  # paramflow reads each batch's loss too
            val_loss, rmse = validation(model, vx, vt)
            epochs.append(time.perf_counter() - e0)
            losses.append(total / tx.shape[0])
            vals.append(val_loss)
        report["epoch_s"].append(epochs)
        report["loss"].append(losses)
        report["val_loss"].append(vals)
        report["fold_rmse"].append(rmse.tolist())
        report["fold_s"].append(time.perf_counter() - f0)
        print(f"torch_study: fold {fold}: {report['fold_s'][-1]:.2f} s, loss {losses[-1]:.6f}, val_loss {vals[-1]:.6f}", file=sys.stderr)
    report["total_s"] = time.perf_counter() - started
    # evaluate's objective on the last epoch's weights: mean over folds of the mean over targets of the RMSE.
    report["cv_rmse_mean"] = float(np.mean([np.mean(r) for r in report["fold_rmse"]]))
    text = json.dumps(report)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
