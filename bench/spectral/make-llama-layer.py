#!/usr/bin/env python3
"""Synthetic Llama-2-7B-shaped layer for the intruder benchmark.

Modules (out x in): q,k,v,o 4096x4096; gate,up 11008x4096; down 4096x11008, divided by
--divide (default 1). Base W0 = U diag(sigma) V^T with random orthonormal U, V and a
decaying spectrum (a few spikes over a slowly decaying bulk, as in trained LLM weights).
Adapter: rank 16, B ~ N(0, 1/m), A ~ N(0, 1/n), scale 4 (alpha = 64). Writes float32 .npy
files and manifest.json into OUT.
usage: python3 bench/spectral/make-llama-layer.py OUT [--divide 4] [--modules q_proj,gate_proj] [--seed 0]
"""
import argparse
import json
import os
import numpy as np

SHAPES = {
    "q_proj": (4096, 4096), "k_proj": (4096, 4096), "v_proj": (4096, 4096), "o_proj": (4096, 4096),
    "gate_proj": (11008, 4096), "up_proj": (11008, 4096), "down_proj": (4096, 11008),
}


def orth(rng, rows, cols):
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--divide", type=int, default=1)
    ap.add_argument("--modules", default=",".join(SHAPES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rank", type=int, default=16)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    manifest = {"divide": args.divide, "rank": args.rank, "modules": []}
    for name in args.modules.split(","):
        m, n = (d // args.divide for d in SHAPES[name])
        p = min(m, n)
        i = np.arange(p)
        # A bulk spread evenly between 0.3 and 2.6 (no flat floor) plus a few decaying spikes.
        sigma = 0.3 + 2.3 * (1 - i / p) + 8.0 * 0.7 ** i
        w0 = (orth(rng, m, p) * sigma) @ orth(rng, n, p).T
        b = rng.standard_normal((m, args.rank)) / np.sqrt(m)
        a = rng.standard_normal((args.rank, n)) / np.sqrt(n)
        for key, arr in (("W0", w0), ("B", b), ("A", a)):
            np.save(os.path.join(args.out, f"{name}.{key}.npy"), arr.astype(np.float32))
        manifest["modules"].append({"name": f"model.layers.0.mlp.{name}" if "proj" in name and name in ("gate_proj", "up_proj", "down_proj") else f"model.layers.0.self_attn.{name}",
                                    "short": name, "m": m, "n": n, "scale": 4.0})
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
