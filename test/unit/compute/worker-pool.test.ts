import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkerPool } from '../../../src/compute/worker-pool.ts';

const TASKS = fileURLToPath(new URL('./fixtures/pool-tasks.ts', import.meta.url));
const pool = createWorkerPool({ size: 2, backend: 'ts', env: {}, abortGraceMs: 300 });
afterAll(() => pool.close());

describe('worker pool', () => {
  it('runs a TypeScript task on the worker backend and streams its progress', async () => {
    const progress: unknown[] = [];
    // [[1, 2], [3, 4]]² = [[7, 10], [15, 22]].
    const result = await pool.run<{ product: Float64Array; backend: string; threadId: number }>(
      { module: TASKS, fn: 'multiply', args: { a: Float64Array.from([1, 2, 3, 4]), b: Float64Array.from([1, 2, 3, 4]), n: 2 } },
      { onProgress: (value) => progress.push(value) },
    );
    expect(Array.from(result.product)).toEqual([7, 10, 15, 22]);
    expect(result.backend).toBe('ts');
    expect(result.threadId).toBeGreaterThan(0);
    expect(progress).toEqual([{ step: 'start' }, { step: 'done' }]);
  });

  it('moves transferred buffers instead of copying them', async () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => i);
    const total = await pool.run<number>({ module: TASKS, fn: 'sum', args: { values }, transfer: [values.buffer] });
    expect(total).toBe((999 * 1000) / 2);
    expect(values.byteLength).toBe(0); // detached on this side
  });

  it('runs independent tasks on separate threads at once', async () => {
    const args = { a: Float64Array.from([1]), b: Float64Array.from([2]), n: 1 };
    const running = Promise.all(
      [0, 1, 2, 3].map(() => pool.run<{ product: Float64Array; threadId: number }>({ module: TASKS, fn: 'multiply', args })),
    );
    expect(pool.stats()).toEqual({ size: 2, workers: 2, busy: 2, queued: 2 });
    const results = await running;
    expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
    expect(results.every((r) => r.product[0] === 2)).toBe(true);
    // Four tasks queued at once on a pool of two: both workers take one.
    expect(new Set(results.map((r) => r.threadId)).size).toBe(2);
  });

  it('cancels a cooperative task with ABORTED and keeps the worker usable', async () => {
    const controller = new AbortController();
    let ticks = 0;
    const running = pool.run({ module: TASKS, fn: 'spinUntilAborted', args: null }, { signal: controller.signal, onProgress: () => ticks++ });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    expect(ticks).toBeGreaterThan(0);
    await expect(pool.run({ module: TASKS, fn: 'sum', args: { values: Float64Array.from([1, 2]) } })).resolves.toBe(3);
  });

  it('terminates a worker whose task ignores cancellation, and replaces it', async () => {
    const controller = new AbortController();
    const running = pool.run({ module: TASKS, fn: 'blockForever', args: null }, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(pool.run({ module: TASKS, fn: 'sum', args: { values: Float64Array.from([4, 5]) } })).resolves.toBe(9);
  });

  it('rejects a task cancelled before it starts without running it', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(pool.run({ module: TASKS, fn: 'blockForever', args: null }, { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('re-throws a task error as WorkbenchError with the same code and details', async () => {
    await expect(pool.run({ module: TASKS, fn: 'failWithCode', args: { file: '/nope.safetensors' } })).rejects.toMatchObject({
      name: 'WorkbenchError',
      code: 'FILE_NOT_FOUND',
      message: 'no such file: /nope.safetensors',
      details: { path: '/nope.safetensors' },
    });
    await expect(pool.run({ module: TASKS, fn: 'failPlainly', args: null })).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('undefined is not a function') });
  });

  it('rejects the task of a worker that dies with INTERNAL, and carries on', async () => {
    await expect(pool.run({ module: TASKS, fn: 'exitThread', args: null })).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(pool.run({ module: TASKS, fn: 'sum', args: { values: Float64Array.from([2, 2]) } })).resolves.toBe(4);
  });

  it('refuses a module that does not export the named function', async () => {
    await expect(pool.run({ module: TASKS, fn: 'noSuchTask', args: null })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('noSuchTask') });
  });

  it('gives each worker its own tfjs-wasm backend', async () => {
    const wasmPool = createWorkerPool({ size: 1, backend: 'wasm', env: {} });
    try {
      const result = await wasmPool.run<{ product: Float64Array; backend: string }>({
        module: TASKS,
        fn: 'multiply',
        args: { a: Float64Array.from([1, 2, 3, 4]), b: Float64Array.from([0, 1, 1, 0]), n: 2 },
      });
      expect(result.backend).toBe('wasm');
      // [[1, 2], [3, 4]]·[[0, 1], [1, 0]] = [[2, 1], [4, 3]], exact in f32.
      expect(Array.from(result.product)).toEqual([2, 1, 4, 3]);
    } finally {
      await wasmPool.close();
    }
  });

  it('rejects tasks after close()', async () => {
    const other = createWorkerPool({ size: 1, backend: 'ts', env: {} });
    await other.close();
    await expect(other.run({ module: TASKS, fn: 'sum', args: { values: Float64Array.from([1]) } })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
