#!/usr/bin/env python3
"""Baselines for bench/linalg (numpy → LAPACK/OpenBLAS), driven by the TypeScript benches.

usage:
  dense_svd.py lowrank-sum DIR   DIR holds meta.json {m, n, ranks, weights} and factors.f64
                                 (B_1, A_1, B_2, A_2, … row-major float64). Densifies Σ w_i·B_i·A_i
                                 and runs numpy.linalg.svd(full_matrices=False) (gesdd, f64).
  dense_svd.py top-triplets DIR  DIR holds meta.json {m, n, r, scale, k, oversample, powerIterations}
                                 and w0.f32, b.f64, a.f64. Times (1) numpy randomized SVD of
                                 W0 + s·B·A with the same algorithm (f32 products, f64 QR) and
                                 (2) numpy.linalg.svd(compute_uv=False) of the dense f32 sum (sgesdd) as the reference values.
Prints one JSON object on stdout: times in ms and the singular values needed for the accuracy check.
"""
import json
import os
import sys
import time

import numpy as np


def lowrank_sum(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    m, n = meta["m"], meta["n"]
    raw = np.fromfile(os.path.join(d, "factors.f64"), dtype=np.float64)
    off = 0
    factors = []
    for r in meta["ranks"]:
        B = raw[off : off + m * r].reshape(m, r)
        off += m * r
        A = raw[off : off + r * n].reshape(r, n)
        off += r * n
        factors.append((B, A))
    t0 = time.perf_counter()
    M = np.zeros((m, n))
    for (B, A), w in zip(factors, meta["weights"]):
        M += w * (B @ A)
    t1 = time.perf_counter()
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    t2 = time.perf_counter()
    R = sum(meta["ranks"])
    return {
        "densifyMs": (t1 - t0) * 1e3,
        "svdMs": (t2 - t1) * 1e3,
        "totalMs": (t2 - t0) * 1e3,
        "S": [float(x) for x in S[:R]],
        "tailMax": float(S[R:].max()) if S.shape[0] > R else 0.0,
    }


def top_triplets(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    m, n, r, s, k = meta["m"], meta["n"], meta["r"], meta["scale"], meta["k"]
    W0 = np.fromfile(os.path.join(d, "w0.f32"), dtype=np.float32).reshape(m, n)
    B = np.fromfile(os.path.join(d, "b.f64"), dtype=np.float64).reshape(m, r)
    A = np.fromfile(os.path.join(d, "a.f64"), dtype=np.float64).reshape(r, n)
    Bf, Af = B.astype(np.float32), A.astype(np.float32)
    ell = k + meta["oversample"]
    rng = np.random.default_rng(1)
    W0T = np.ascontiguousarray(W0.T)

    def apply(X):
        X = X.astype(np.float32)
        return (W0 @ X + s * (Bf @ (Af @ X))).astype(np.float64)

    def apply_t(Y):
        Y = Y.astype(np.float32)
        return (W0T @ Y + s * (Af.T @ (Bf.T @ Y))).astype(np.float64)

    t0 = time.perf_counter()
    Q, _ = np.linalg.qr(apply(rng.standard_normal((n, ell))))
    for _ in range(meta["powerIterations"]):
        Z, _ = np.linalg.qr(apply_t(Q))
        Q, _ = np.linalg.qr(apply(Z))
    Bs = apply_t(Q).T
    Ub, S, Vt = np.linalg.svd(Bs, full_matrices=False)
    t1 = time.perf_counter()
    dense = W0 + (s * (B @ A)).astype(np.float32)
    t2 = time.perf_counter()
    exact = np.linalg.svd(dense, compute_uv=False)
    t3 = time.perf_counter()
    return {
        "randomizedMs": (t1 - t0) * 1e3,
        "randomizedS": [float(x) for x in S[:k]],
        "denseValuesOnlyMs": (t3 - t2) * 1e3,
        "exactS": [float(x) for x in exact[:k]],
    }


if __name__ == "__main__":
    mode, folder = sys.argv[1], sys.argv[2]
    out = lowrank_sum(folder) if mode == "lowrank-sum" else top_triplets(folder)
    out["numpy"] = np.__version__
    print(json.dumps(out))
