#!/usr/bin/env python3
"""Baseline for bench/spectral: intruder dimensions by the paper's definition with full
thin SVDs in numpy (float64), as the official code and PEFT's reduce_intruder_dimension do.

usage: python3 bench/baselines/intruder_full_svd.py DIR [--k 10] [--eps 0.5] [--modules q_proj,gate_proj]
Reads DIR/manifest.json and the .npy files written by bench/spectral/make-llama-layer.py;
prints one JSON object: per module counts, max cosines and seconds (base SVD, tuned SVD).
"""
import argparse
import json
import os
import sys
import time
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--eps", default="0.5")
    ap.add_argument("--modules", default="", help="comma-separated short names (default: all in the manifest)")
    args = ap.parse_args()
    eps = [float(e) for e in args.eps.split(",")]
    with open(os.path.join(args.dir, "manifest.json")) as f:
        manifest = json.load(f)
    out = {"numpy": np.__version__, "modules": []}
    wanted = set(filter(None, args.modules.split(",")))
    for mod in manifest["modules"]:
        if wanted and mod["short"] not in wanted:
            continue
        load = lambda key: np.load(os.path.join(args.dir, f"{mod['short']}.{key}.npy")).astype(np.float64)
        w0, b, a = load("W0"), load("B"), load("A")
        t0 = time.perf_counter()
        u0, _, _ = np.linalg.svd(w0, full_matrices=False)
        t1 = time.perf_counter()
        ut, st, _ = np.linalg.svd(w0 + mod["scale"] * b @ a, full_matrices=False)
        t2 = time.perf_counter()
        c = np.abs(ut[:, : args.k].T @ u0).max(axis=1)
        out["modules"].append({
            "name": mod["name"],
            "counts": {str(e): int((c < e).sum()) for e in eps},
            "maxCos": c.tolist(),
            "tunedSigma": st[: args.k].tolist(),
            "baseSvdSeconds": t1 - t0,
            "tunedSvdSeconds": t2 - t1,
        })
        print(f"{mod['short']}: base SVD {t1 - t0:.1f} s, tuned SVD {t2 - t1:.1f} s", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
