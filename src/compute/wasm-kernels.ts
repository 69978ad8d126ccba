// The exact (f64) products with f32-stored weights in WebAssembly SIMD (wasm/exact-kernels.wat):
// the certificates' thin products W·X and the tall-base Gram WᵀW. Measured here, one thread:
// the Gram 7.3 G multiply-adds/s and W·X (16 columns, 4096×11008) 9.1 G/s, against 2.3 and 1.4 for
// the JS kernels. Operands live in shared WebAssembly memories (one per stored matrix, with a
// scratch area after it for the thin operands), so the split helper instantiates the same module
// on the same memory and computes its rows in place. Where the host has no wasm SIMD or shared
// memories, or a shape does not suit a kernel, callers keep their JS kernels.
import { exactKernelsWasm } from './wasm/exact-kernels-bytes.ts';
import { defineSplitKernel, runSplit } from './split-helper.ts';

/**
 * Gram: k range per call, 512 f32 (2 KB) of each row, so the six rows a 2×4 block streams stay in
 * L1/L2; measured 7.3 G/s at 512 against 6.0 at 1024 and 5.1 at 2048.
 */
const GRAM_K_BLOCK = 512;
/**
 * Rows per call. V8 runs a new wasm function in its baseline compiler and swaps in the optimised
 * code only between calls (there is no on-stack replacement in wasm), so work is cut into many
 * calls: one call for a whole Gram ran at 1.0 G/s.
 */
const GRAM_ROW_BLOCK = 16;
const PRODUCT_ROW_BLOCK = 32;
/** Columns of X per product pass: the scratch after each stored matrix holds this many. */
export const PRODUCT_COLUMN_GROUP = 16;
/** A wasm32 memory holds at most 4 GiB (less one page); larger matrices use the JS kernels. */
const WASM_MAX_BYTES = 2 ** 32 - 2 ** 16;
const PAGE = 65536;
/** Share of the Gram's work the calling thread keeps (its rows are the cheaper first ones). */
const GRAM_OWN_SHARE = 0.55;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernels, or undefined on a host without wasm SIMD or shared memories. */
export function exactKernelsModule(): WebAssembly.Module | undefined {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(exactKernelsWasm, 'base64'));
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    } catch {
      compiled = null;
    }
  }
  return compiled ?? undefined;
}

/** Which shared buffers are wasm memories (a typed array only knows its buffer). */
const memories = new WeakMap<SharedArrayBuffer, WebAssembly.Memory>();

/** The wasm memory a view lives in, if any. */
export function memoryOf(view: ArrayBufferView): WebAssembly.Memory | undefined {
  return view.buffer instanceof SharedArrayBuffer ? memories.get(view.buffer) : undefined;
}

/** Bytes of a wasm memory holding `bytes` (whole pages), or undefined when too large. */
export function wasmMemoryBytes(bytes: number): number | undefined {
  const total = Math.ceil(bytes / PAGE) * PAGE;
  return total <= WASM_MAX_BYTES ? total : undefined;
}

/** A new shared wasm memory of exactly `total` bytes (a multiple of the page), registered. */
export function newWasmBuffer(total: number): SharedArrayBuffer | undefined {
  if (!exactKernelsModule()) return undefined;
  try {
    const memory = new WebAssembly.Memory({ initial: total / PAGE, maximum: total / PAGE, shared: true });
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    memories.set(buffer, memory);
    return buffer;
  } catch {
    return undefined;
  }
}

/** Scratch bytes after a stored rows×cols matrix: PRODUCT_COLUMN_GROUP columns of X and of Y. */
export function productScratchBytes(rows: number, cols: number): number {
  return (rows + cols) * PRODUCT_COLUMN_GROUP * 8 + 64;
}

/**
 * Rows [from, to) of G (see exact-kernels.wat), in calls of `rowBlock` rows per k block of `kBlock`
 * (both even). Self-contained: its source runs in the split helper too.
 */
export function gramWasmRows(
  memory: WebAssembly.Memory,
  module: WebAssembly.Module,
  n: number,
  m: number,
  from: number,
  to: number,
  gOffset: number,
  kBlock: number,
  rowBlock: number,
): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const gram = instance.exports.gramLower as (wt: number, n: number, m: number, from: number, to: number, g: number, k0: number, k1: number) => void;
  for (let k0 = 0; k0 < m; k0 += kBlock) {
    const k1 = Math.min(m, k0 + kBlock);
    for (let i = from; i < to; i += rowBlock) gram(0, n, m, i, Math.min(to, i + rowBlock), gOffset, k0, k1);
  }
}

/** Rows [from, to) of Y = W·X (see exact-kernels.wat), `rowBlock` (even) rows per call. Self-contained. */
export function rowDotWasmRows(
  memory: WebAssembly.Memory,
  module: WebAssembly.Module,
  w: number,
  rows: number,
  cols: number,
  xt: number,
  b: number,
  y: number,
  from: number,
  to: number,
  rowBlock: number,
): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const rowDot = instance.exports.rowDot as (w: number, rows: number, cols: number, xt: number, b: number, y: number, from: number, to: number) => void;
  for (let i = from; i < to; i += rowBlock) rowDot(w, rows, cols, xt, b, y, i, Math.min(to, i + rowBlock));
}

/** Rows [from, to) of one Cholesky panel update (see exact-kernels.wat). Self-contained. */
export function choleskyPanelWasmRows(memory: WebAssembly.Memory, module: WebAssembly.Module, l: number, n: number, j: number, from: number, to: number): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  (instance.exports.choleskyPanel as (l: number, n: number, j: number, from: number, to: number) => void)(l, n, j, from, to);
}

/**
 * Columns [from, to) of the inverse factor (see exact-kernels.wat), 16 columns per call (a multiple
 * of the kernel's 4; many calls, for the optimised code). Self-contained.
 */
export function inverseColumnsWasm(memory: WebAssembly.Memory, module: WebAssembly.Module, x: number, l: number, n: number, from: number, to: number): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const inverse = instance.exports.inverseColumns as (x: number, l: number, n: number, from: number, to: number) => void;
  for (let c = from; c < to; c += 16) inverse(x, l, n, c, Math.min(to, c + 16));
}

defineSplitKernel('wasm.gramLower', `(${gramWasmRows.toString()})`);
defineSplitKernel('wasm.rowDot', `(${rowDotWasmRows.toString()})`);
defineSplitKernel('wasm.choleskyPanel', `(${choleskyPanelWasmRows.toString()})`);
defineSplitKernel('wasm.inverseColumns', `(${inverseColumnsWasm.toString()})`);

/** Below this many multiply-adds a product runs on the calling thread only. */
const PRODUCT_SPLIT_MIN_WORK = 1 << 22;

/**
 * Y (rows×b, row-major, a fresh array) = W·X with Xt = Xᵀ (b×cols), for W an f32 view at the start
 * of a wasm memory with productScratchBytes(rows, cols) after it. Undefined when W is not such a
 * view or cols is odd: the caller uses the JS kernel.
 */
export function wasmRowDotProduct(W: Float32Array, rows: number, cols: number, Xt: Float64Array, b: number): Float64Array | undefined {
  const memory = memoryOf(W);
  const module = exactKernelsModule();
  if (!memory || !module || cols % 2 !== 0 || W.byteOffset !== 0 || rows === 0) return undefined;
  const xtOffset = Math.ceil((W.byteLength + 16) / 16) * 16;
  const yOffset = xtOffset + PRODUCT_COLUMN_GROUP * cols * 8;
  if (yOffset + rows * PRODUCT_COLUMN_GROUP * 8 > memory.buffer.byteLength) return undefined;
  const Y = new Float64Array(rows * b);
  for (let g0 = 0; g0 < b; g0 += PRODUCT_COLUMN_GROUP) {
    const g = Math.min(PRODUCT_COLUMN_GROUP, b - g0);
    const gPad = Math.ceil(g / 4) * 4;
    const xt = new Float64Array(memory.buffer, xtOffset, gPad * cols);
    xt.set(Xt.subarray(g0 * cols, (g0 + g) * cols));
    xt.fill(0, g * cols);
    const half = 2 * Math.floor(rows / 4);
    const split = rows * cols * gPad >= PRODUCT_SPLIT_MIN_WORK && half > 0;
    const r = PRODUCT_ROW_BLOCK;
    runSplit(
      'wasm.rowDot',
      split ? [memory, module, 0, rows, cols, xtOffset, gPad, yOffset, half, rows, r] : undefined,
      () => rowDotWasmRows(memory, module, 0, rows, cols, xtOffset, gPad, yOffset, 0, split ? half : rows, r),
      () => {
        if (split) rowDotWasmRows(memory, module, 0, rows, cols, xtOffset, gPad, yOffset, half, rows, r);
      },
    );
    const y = new Float64Array(memory.buffer, yOffset, rows * gPad);
    for (let i = 0; i < rows; i++) {
      const src = i * gPad;
      const dst = i * b + g0;
      for (let j = 0; j < g; j++) Y[dst + j] = y[src + j]!;
    }
  }
  return Y;
}

export interface WasmGram {
  /** Wᵀ (n×m, f32) as `fill` wrote it, at the start of a wasm memory with product scratch after it. */
  readonly Wt: Float32Array;
  /** G = WᵀW (n×n, f64, row-major): the lower triangle and the diagonal 4×4 blocks are written. */
  readonly G: Float64Array;
}

/**
 * G = WᵀW for W m×n, with `fill(Wt)` writing Wᵀ (n×m f32) into a wasm memory (`take(bytes)`: a
 * registered wasm buffer of that many bytes, e.g. from a pool), with `reserveAfter` bytes free after
 * G (the inverse factor's room). Undefined when the host or the shape does not allow it (n not a
 * multiple of 4, odd m, more than 4 GiB): use the JS kernel.
 */
export function wasmGramLower(
  m: number,
  n: number,
  fill: (Wt: Float32Array) => void,
  take: (bytes: number) => SharedArrayBuffer | undefined = newWasmBuffer,
  reserveAfter = 0,
): WasmGram | undefined {
  if (n % 4 !== 0 || m % 2 !== 0 || n === 0 || m === 0) return undefined;
  const module = exactKernelsModule();
  if (!module) return undefined;
  const gOffset = Math.ceil((n * m * 4 + productScratchBytes(n, m)) / 8) * 8;
  const total = wasmMemoryBytes(gOffset + n * n * 8 + reserveAfter);
  if (total === undefined) return undefined;
  const buffer = take(total);
  const memory = buffer && memories.get(buffer);
  if (!buffer || !memory) return undefined;
  const Wt = new Float32Array(buffer, 0, n * m);
  fill(Wt);
  const G = new Float64Array(buffer, gOffset, n * n);
  G.fill(0);
  const split = Math.min(n, 4 * Math.round((n * Math.sqrt(GRAM_OWN_SHARE)) / 4));
  const shared = split < n;
  const [kb, rb] = [GRAM_K_BLOCK, GRAM_ROW_BLOCK];
  runSplit(
    'wasm.gramLower',
    shared ? [memory, module, n, m, split, n, gOffset, kb, rb] : undefined,
    () => gramWasmRows(memory, module, n, m, 0, shared ? split : n, gOffset, kb, rb),
    () => {
      if (shared) gramWasmRows(memory, module, n, m, split, n, gOffset, kb, rb);
    },
  );
  return { Wt, G };
}

