#!/usr/bin/python3
"""PyTorch (CPU) reference for paramflow's training benchmark, bench/run.mjs.

Trains the PERF-NOTES models on random data, Adam(1e-3) and MSE, and prints one JSON line per
(model, batch): {"event": "result", "model", "batch", "samples_per_s", "samples_timed",
"threads", "torch"}. Timing follows bench/train-bench.mjs exactly: warm-up, then the best of 2
epochs (capped at --epoch-seconds for slow cases); with --sync it announces each timed epoch
({"event": "ready", "samples": S}) and waits for "go <samples>" on stdin, so that run.mjs can
time parallel processes together.

  /usr/bin/python3 bench/torch_mlp.py [--models M1,M2] [--batches 32,256] [--threads 1]
      [--n 10000] [--inputs 2000] [--epoch-seconds 10] [--warmup-seconds 2] [--sync]

M1 = Dense(64, relu) -> Dense(4); M2 = Dense(512, relu) -> BatchNorm -> Dense(256, relu) ->
BatchNorm -> Dense(4). Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread
(without OpenBLAS torch falls back to the reference BLAS, ~30x slower).
"""
import argparse
import json
import os
import sys
import time

WARMUP_SAMPLES = 2048
OUTPUTS = 4


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="M1,M2")
    ap.add_argument("--batches", default="32,256")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--inputs", type=int, default=2000)
    ap.add_argument("--epoch-seconds", type=float, default=10.0)
    ap.add_argument("--warmup-seconds", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sync", action="store_true")
    return ap.parse_args()


def main():
    args = parse_args()
    # OpenBLAS reads its thread count when loaded: set it before numpy and torch are imported,
    # or "1 thread" still keeps both cores busy inside large GEMMs (PERF-NOTES 9).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    def build(name):
        if name == "M1":
            return nn.Sequential(nn.Linear(args.inputs, 64), nn.ReLU(), nn.Linear(64, OUTPUTS))
        if name == "M2":
            return nn.Sequential(
                nn.Linear(args.inputs, 512), nn.ReLU(), nn.BatchNorm1d(512),
                nn.Linear(512, 256), nn.ReLU(), nn.BatchNorm1d(256),
                nn.Linear(256, OUTPUTS),
            )
        sys.exit(f"unknown model {name}: expected M1 or M2")

    rng = np.random.default_rng(args.seed)
    x = torch.from_numpy(rng.standard_normal((args.n, args.inputs), dtype=np.float32))
    y = torch.from_numpy(rng.standard_normal((args.n, OUTPUTS), dtype=np.float32))
    loss_fn = nn.MSELoss()

    def epoch(model, opt, batch, samples, gen):
        """Trains on the first `samples` rows of a fresh shuffle; returns seconds taken."""
        order = torch.randperm(args.n, generator=gen)
        start = time.perf_counter()
        for i in range(0, samples, batch):
            idx = order[i:min(i + batch, samples)]
            if len(idx) < 2:  # BatchNorm1d refuses a batch of one
                break
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            loss.item()  # one sync per step, as paramflow's loop reads its loss
        return time.perf_counter() - start

    def ready(samples):
        print(json.dumps({"event": "ready", "samples": samples}), flush=True)
        if not args.sync:
            return samples
        line = sys.stdin.readline().split()
        if len(line) != 2 or line[0] != "go":
            sys.exit(f"expected 'go <samples>' on stdin, got {line!r}")
        return int(line[1])

    for name in args.models.split(","):
        for batch in map(int, args.batches.split(",")):
            gen = torch.Generator().manual_seed(args.seed + 3)
            model = build(name)
            model.train()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            done, elapsed = 0, 0.0
            while done < min(args.n, WARMUP_SAMPLES) and (elapsed < args.warmup_seconds or done < 2 * batch):
                elapsed += epoch(model, opt, batch, min(batch, args.n), gen)
                done += min(batch, args.n)
            # A full epoch, or as many whole batches as fit in the time cap.
            proposed = min(args.n, max(2, int(done / elapsed * args.epoch_seconds) // batch) * batch)
            best, samples = float("inf"), proposed
            for _ in range(2):  # best of 2: the machine is noisy
                samples = ready(proposed)
                best = min(best, epoch(model, opt, batch, samples, gen))
            print(json.dumps({
                "event": "result", "model": name, "batch": batch,
                "samples_per_s": round(samples / best, 1), "samples_timed": samples,
                "threads": args.threads, "torch": torch.__version__,
            }), flush=True)


if __name__ == "__main__":
    main()
