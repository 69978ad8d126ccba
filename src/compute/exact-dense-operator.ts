// A dense matrix as an f64 LinearOperator for certificates, in TypeScript, faster than
// tsGemm on the thin blocks certificates multiply (1–64 columns): the matrix is kept in
// f32 when every entry is exactly an f32 (weights stored as F32, BF16 or F16 always are),
// which halves the memory traffic while every product is still the exact-input f64 one
// (an f32 value widens to f64 without rounding), and both W and Wᵀ are walked by rows
// (Wᵀ is transposed once, on first use), so each output entry is a contiguous dot
// product, 2 rows × 4 columns per pass for register reuse.
// Measured on this machine (4096×4096, 16 columns): 2.8 GFLOP/s against 1.6 for tsGemm.
// Where the host has WebAssembly SIMD, the compact copies live in wasm memories and the products
// (and the Gram) run in the f64 SIMD kernels of wasm-kernels.ts instead, 3–6× faster; the JS
// kernels remain for shapes those do not cover. Large products are split by rows between the
// calling thread and the split helper (split-helper.ts); every output row is the same dot product
// on either thread, so results do not depend on the split.
import type { LinearOperator } from '../linalg/operator.ts';
import type { Mat } from '../tensor/matrix.ts';
import { assertDataLength, assertOperandRows } from './validate-shapes.ts';
import { defineSplitKernel, isShared, runSplit } from './split-helper.ts';
import { memoryOf, newWasmBuffer, productScratchBytes, wasmGramLower, wasmMemoryBytes, wasmRowDotProduct } from './wasm-kernels.ts';

type Store = Float32Array | Float64Array;

/**
 * Idle shared buffers of released operators (releaseExactCopies), by byte length, for the next
 * operator of the same shape within one analysis (drainExactPool empties it): a scan per module of
 * one model sees the same few shapes again and again, and on this VM first-touching fresh memory
 * costs 3–5 ms per MB (a 4096×11008 base: two 180 MB copies, ≈ 1.5 s per scan), more than filling it.
 * Plain shared buffers and wasm memories (wasm-kernels.ts) are kept apart.
 */
const POOL_MAX_BYTES = 1024 * 1024 * 1024;
const pool = new Map<string, SharedArrayBuffer[]>();
let pooledBytes = 0;

/** Bytes held idle in the pool (tests, diagnostics). */
export function exactPoolBytes(): number {
  return pooledBytes;
}

/** Lets the idle buffers go (an analysis calls this when it ends: a long-lived server must not hold them). */
export function drainExactPool(): void {
  pool.clear();
  pooledBytes = 0;
}

function fromPool(key: string, bytes: number): SharedArrayBuffer | undefined {
  const hit = pool.get(key)?.pop();
  if (hit) pooledBytes -= bytes;
  return hit;
}

function takeShared(bytes: number): SharedArrayBuffer {
  return fromPool(`plain:${bytes}`, bytes) ?? new SharedArrayBuffer(bytes);
}

/** A wasm memory of `total` bytes (a whole number of pages), pooled or new; undefined without wasm. */
function takeWasm(total: number): SharedArrayBuffer | undefined {
  return fromPool(`wasm:${total}`, total) ?? newWasmBuffer(total);
}

/**
 * f32 storage for a rows×cols matrix: at the start of a wasm memory with the product scratch after
 * it where the host allows, else a plain shared buffer.
 */
function takeF32(rows: number, cols: number): Float32Array {
  const total = wasmMemoryBytes(rows * cols * 4 + productScratchBytes(rows, cols));
  const wasm = total === undefined ? undefined : takeWasm(total);
  return wasm ? new Float32Array(wasm, 0, rows * cols) : new Float32Array(takeShared(rows * cols * 4));
}

function giveBack(view: ArrayBufferView): void {
  const buffer = view.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || view.byteOffset !== 0) return;
  const wasm = memoryOf(view) !== undefined;
  // Only whole buffers of our own, or whole wasm memories.
  if (!wasm && view.byteLength !== buffer.byteLength) return;
  if (pooledBytes + buffer.byteLength > POOL_MAX_BYTES) return;
  const key = `${wasm ? 'wasm' : 'plain'}:${buffer.byteLength}`;
  const list = pool.get(key) ?? [];
  list.push(buffer);
  pool.set(key, list);
  pooledBytes += buffer.byteLength;
}

/**
 * f32 copy of `data` when every entry is exactly representable, else `data` itself. With a
 * `shape`, the copy is the operator's: shared storage for the products (takeF32; an f32 input not
 * already shared is copied there too).
 */
export function compactExact(data: Float32Array | Float64Array, shape?: { readonly rows: number; readonly cols: number }): Store {
  if (data instanceof Float32Array) {
    if (!shape || isShared(data)) return data;
    const copy = takeF32(shape.rows, shape.cols);
    copy.set(data);
    return copy;
  }
  const f32 = shape ? takeF32(shape.rows, shape.cols) : new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    const y = Math.fround(x);
    if (y !== x && !(x !== x)) {
      if (shape) giveBack(f32);
      return data;
    }
    f32[i] = y;
  }
  return f32;
}

/** Below this many multiply-adds a product stays on the calling thread (the hand-off costs ~0.1 ms). */
export const SPLIT_MIN_WORK = 1 << 22;

/**
 * Rows [from, to) of Y (rows×b, row-major) = W (rows×cols, row-major) · X, with Xt = Xᵀ (b×cols,
 * row-major); `from` is even, so rows pair up the same way whichever range a call covers.
 * Self-contained (literal constants only): its source runs in the split helper too.
 */
export function rowDotProductRows(Y: Float64Array, W: Float32Array | Float64Array, rows: number, cols: number, Xt: Float64Array, b: number, lowerOnly: boolean, from: number, to: number): void {
  let i = from;
  for (; i + 2 <= to; i += 2) {
    // lowerOnly (a symmetric product): columns j ≤ i + 1 only (the rest stays 0).
    const jEnd = lowerOnly ? Math.min(b, i + 2) : b;
    const b4 = jEnd - (jEnd % 4);
    const r0 = i * cols;
    const r1 = r0 + cols;
    const y0 = i * b;
    const y1 = y0 + b;
    let j = 0;
    for (; j < b4; j += 4) {
      const x0 = j * cols;
      const x1 = x0 + cols;
      const x2 = x1 + cols;
      const x3 = x2 + cols;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      for (let k = 0; k < cols; k++) {
        const w = W[r0 + k]!;
        const v = W[r1 + k]!;
        const z0 = Xt[x0 + k]!;
        const z1 = Xt[x1 + k]!;
        const z2 = Xt[x2 + k]!;
        const z3 = Xt[x3 + k]!;
        a0 += w * z0;
        a1 += w * z1;
        a2 += w * z2;
        a3 += w * z3;
        c0 += v * z0;
        c1 += v * z1;
        c2 += v * z2;
        c3 += v * z3;
      }
      Y[y0 + j] = a0;
      Y[y0 + j + 1] = a1;
      Y[y0 + j + 2] = a2;
      Y[y0 + j + 3] = a3;
      Y[y1 + j] = c0;
      Y[y1 + j + 1] = c1;
      Y[y1 + j + 2] = c2;
      Y[y1 + j + 3] = c3;
    }
    if (j + 2 <= jEnd) {
      const x0 = j * cols;
      const x1 = x0 + cols;
      let a0 = 0;
      let a1 = 0;
      let c0 = 0;
      let c1 = 0;
      for (let k = 0; k < cols; k++) {
        const w = W[r0 + k]!;
        const v = W[r1 + k]!;
        const z0 = Xt[x0 + k]!;
        const z1 = Xt[x1 + k]!;
        a0 += w * z0;
        a1 += w * z1;
        c0 += v * z0;
        c1 += v * z1;
      }
      Y[y0 + j] = a0;
      Y[y0 + j + 1] = a1;
      Y[y1 + j] = c0;
      Y[y1 + j + 1] = c1;
      j += 2;
    }
    for (; j < jEnd; j++) {
      const x0 = j * cols;
      let a0 = 0;
      let c0 = 0;
      for (let k = 0; k < cols; k++) {
        const z = Xt[x0 + k]!;
        a0 += W[r0 + k]! * z;
        c0 += W[r1 + k]! * z;
      }
      Y[y0 + j] = a0;
      Y[y1 + j] = c0;
    }
  }
  for (; i < to; i++) {
    const r0 = i * cols;
    const jEnd = lowerOnly ? Math.min(b, i + 1) : b;
    for (let j = 0; j < jEnd; j++) {
      const x0 = j * cols;
      let a0 = 0;
      for (let k = 0; k < cols; k++) a0 += W[r0 + k]! * Xt[x0 + k]!;
      Y[i * b + j] = a0;
    }
  }
}
defineSplitKernel('exact.rowDot', `(${rowDotProductRows.toString()})`);

/**
 * Y (rows×b, row-major) = W (rows×cols, row-major) · X, with Xt = Xᵀ (b×cols, row-major). When W
 * lives in shared memory and the product is large, the last rows go to the split helper.
 */
export function rowDotProduct(W: Store, rows: number, cols: number, Xt: Float64Array, b: number, lowerOnly = false): Float64Array {
  if (!lowerOnly && W instanceof Float32Array && memoryOf(W)) {
    const Y = wasmRowDotProduct(W, rows, cols, Xt, b);
    if (Y) return Y;
  }
  const work = rows * cols * b;
  if (work < SPLIT_MIN_WORK || !isShared(W) || rows < 4) {
    const Y = new Float64Array(rows * b);
    rowDotProductRows(Y, W, rows, cols, Xt, b, lowerOnly, 0, rows);
    return Y;
  }
  const Y = new Float64Array(new SharedArrayBuffer(rows * b * 8));
  const sharedXt = isShared(Xt) ? Xt : new Float64Array(new SharedArrayBuffer(Xt.length * 8));
  if (sharedXt !== Xt) sharedXt.set(Xt);
  // Rows of a lower-only product cost i + 1 dot products: the first rows·√½ are half the work.
  const half = 2 * Math.floor((lowerOnly ? rows * Math.SQRT1_2 : rows / 2) / 2);
  runSplit(
    'exact.rowDot',
    [Y, W, rows, cols, sharedXt, b, lowerOnly, half, rows],
    () => rowDotProductRows(Y, W, rows, cols, sharedXt, b, lowerOnly, 0, half),
    () => rowDotProductRows(Y, W, rows, cols, sharedXt, b, lowerOnly, half, rows),
  );
  return Y;
}

/** Row-major transpose of a Mat, as a flat array (cols×rows). */
export function transposeOf(m: Mat): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) {
    const r = i * m.cols;
    for (let j = 0; j < m.cols; j++) out[j * m.rows + i] = m.data[r + j]!;
  }
  return out;
}

function transposeStore(W: Store, rows: number, cols: number): Store {
  const shared = isShared(W);
  let out: Store;
  if (W instanceof Float32Array && shared) {
    out = takeF32(cols, rows);
  } else {
    const bytes = rows * cols * (W instanceof Float32Array ? 4 : 8);
    const buffer = shared ? takeShared(bytes) : new ArrayBuffer(bytes);
    out = W instanceof Float32Array ? new Float32Array(buffer) : new Float64Array(buffer);
  }
  transposeInto(out, W, rows, cols);
  return out;
}

/** out (cols×rows, row-major) = Wᵀ for W rows×cols, in 32×32 tiles. */
function transposeInto(out: Store, W: Store, rows: number, cols: number): void {
  const tile = 32;
  for (let i0 = 0; i0 < rows; i0 += tile) {
    const i1 = Math.min(rows, i0 + tile);
    for (let j0 = 0; j0 < cols; j0 += tile) {
      const j1 = Math.min(cols, j0 + tile);
      for (let j = j0; j < j1; j++) {
        let o = j * rows + i0;
        let w = i0 * cols + j;
        for (let i = i0; i < i1; i++, o++, w += cols) out[o] = W[w]!;
      }
    }
  }
}

/** Compact copies (and transposes) per source array, so repeated scans of one base reuse them. */
const compactCache = new WeakMap<Float32Array | Float64Array, { W: Store; Wt?: Store }>();

/**
 * Drops the compact copies kept for `data` and keeps their memory for the next operator of the same
 * size. Call it when no operator built on `data` (nor a Gram of it) is used any more.
 */
export function releaseExactCopies(data: Float32Array | Float64Array): void {
  const held = compactCache.get(data);
  if (!held) return;
  compactCache.delete(data);
  if (held.W !== data) giveBack(held.W);
  if (held.Wt) giveBack(held.Wt);
}

function compactEntry(data: Float32Array | Float64Array, rows: number, cols: number): { W: Store; Wt?: Store } {
  let held = compactCache.get(data);
  if (!held) {
    held = { W: compactExact(data, { rows, cols }) };
    compactCache.set(data, held);
  }
  return held;
}

/**
 * True when products with this matrix (built by exactDenseOperator) run in the WebAssembly SIMD
 * kernels both ways: its compact copy lives in a wasm memory and both dimensions are even.
 */
export function exactOperatorAccelerated(rows: number, cols: number, data: Float32Array | Float64Array): boolean {
  const held = compactCache.get(data);
  return held !== undefined && held.W instanceof Float32Array && memoryOf(held.W) !== undefined && rows % 2 === 0 && cols % 2 === 0;
}

/**
 * `data` is row-major rows×cols and must not change while the operator (or a later one built
 * on the same array) is used: its compact copy is kept per array. Held by reference when it
 * is already compact (an f32 array, or an f64 array whose entries are not all f32).
 */
export function exactDenseOperator(rows: number, cols: number, data: Float32Array | Float64Array): LinearOperator {
  assertDataLength(rows, cols, data.length, 'exact dense operator');
  const entry = compactEntry(data, rows, cols);
  const W = entry.W;
  return {
    rows,
    cols,
    async apply(x: Mat): Promise<Mat> {
      assertOperandRows(cols, x, `exact product with ${rows}×${cols} matrix`);
      return { rows, cols: x.cols, data: rowDotProduct(W, rows, cols, transposeOf(x), x.cols) };
    },
    async applyTranspose(y: Mat): Promise<Mat> {
      assertOperandRows(rows, y, `exact transposed product with ${rows}×${cols} matrix`);
      entry.Wt ??= transposeStore(W, rows, cols);
      return { rows: cols, cols: y.cols, data: rowDotProduct(entry.Wt, cols, rows, transposeOf(y), y.cols) };
    },
  };
}

/**
 * The lower triangle (diagonal included; entries above it are unspecified) of WᵀW (cols×cols,
 * f64) of a row-major rows×cols matrix (in a wasm memory where possible, with `reserveAfter` free
 * bytes after it, see cholesky-inverse.ts): half the work of the full product, and what a Cholesky
 * factorisation reads. Wᵀ is transposed once (kept with the exact operator's copies of the same
 * array); the rows of G are split by work between the calling thread and the split helper.
 */
export function exactGramLower(rows: number, cols: number, data: Float32Array | Float64Array, reserveAfter = 0): Float64Array {
  assertDataLength(rows, cols, data.length, 'exact Gram matrix');
  const n = cols;
  // The operator's cached compact transpose when there is one (a scan builds both on one array).
  const entry = compactEntry(data, rows, cols);
  const W = entry.W;
  if (W instanceof Float32Array) {
    // WebAssembly SIMD where the host and the shape allow (wasm-kernels.ts); its Wᵀ, written into
    // the wasm memory, then serves as the operator's transposed copy.
    const previous = entry.Wt;
    const wasm = wasmGramLower(rows, cols, (Wt) => (previous ? Wt.set(previous) : transposeInto(Wt, W, rows, cols)), takeWasm, reserveAfter);
    if (wasm) {
      if (previous) giveBack(previous);
      entry.Wt = wasm.Wt;
      return wasm.G;
    }
  }
  // Other shapes and hosts: the row-dot kernel on Wᵀ, lower triangle only (split by work when large).
  entry.Wt ??= transposeStore(entry.W, rows, cols);
  const Wt = entry.Wt;
  return rowDotProduct(Wt, n, rows, Wt instanceof Float64Array ? Wt : Float64Array.from(Wt), n, true);
}
