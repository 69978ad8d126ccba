#!/usr/bin/env python3
"""Baseline for bench/merge: the naive svd merge — densify M = Σ s_t B_t A_t with numpy,
full thin SVD (LAPACK gesdd), truncate to rank k. Prints one JSON line per shape.

usage: python3 bench/baselines/merge_dense_svd.py --shapes 4096x4096,11008x4096 --inputs 4 --rank 16 --k 16
"""
import argparse, json, time
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--shapes", default="4096x4096")
p.add_argument("--inputs", type=int, default=4)
p.add_argument("--rank", type=int, default=16)
p.add_argument("--k", type=int, default=16)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
rng = np.random.default_rng(a.seed)
for shape in a.shapes.split(","):
    m, n = (int(x) for x in shape.split("x"))
    Bs = [rng.standard_normal((m, a.rank)) * 0.01 for _ in range(a.inputs)]
    As = [rng.standard_normal((a.rank, n)) * 0.01 for _ in range(a.inputs)]
    t0 = time.perf_counter()
    M = sum(B @ A for B, A in zip(Bs, As))
    t1 = time.perf_counter()
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    B2 = U[:, : a.k] * S[: a.k]
    A2 = Vt[: a.k]
    t2 = time.perf_counter()
    print(json.dumps({"shape": [m, n], "densifySeconds": t1 - t0, "svdSeconds": t2 - t1, "totalSeconds": t2 - t0, "numpy": np.__version__}))
