import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/compute/select-backend.ts';
import { describeBackend } from '../../../src/compute/describe-backend.ts';

describe('backend selection', () => {
  it('picks the first available backend in the automatic order and explains every candidate', async () => {
    const selection = await selectBackend({ env: {}, probeAll: true });
    const ids = selection.candidates.map((c) => c.id);
    expect(ids).toEqual(['tensorflow-gpu', 'tensorflow-cpu', 'webgpu', 'wasm', 'ts', 'cpu']);
    const chosen = selection.candidates.filter((c) => c.chosen);
    expect(chosen).toHaveLength(1);
    // Everything before the chosen automatic candidate was unavailable.
    const index = ids.indexOf(chosen[0]!.id);
    expect(selection.candidates.slice(0, index).every((c) => c.available === false && c.reason.length > 0)).toBe(true);
    expect(selection.candidates.find((c) => c.id === 'ts')?.available).toBe(true);
    expect(selection.requested).toBe('auto');
    expect(describeBackend(selection.backend).name).toBe(chosen[0]!.name);
  });

  it('lets AWB_BACKEND choose, and --backend beat AWB_BACKEND', async () => {
    expect((await selectBackend({ env: { AWB_BACKEND: 'ts' } })).backend.name).toBe('ts');
    const both = await selectBackend({ backend: 'wasm', env: { AWB_BACKEND: 'ts' } });
    expect(both.backend.name).toBe('wasm');
    expect(both.requestedBy).toBe('option');
    expect(describeBackend(both.backend)).toMatchObject({ name: 'wasm', isGpu: false, version: expect.stringContaining('4.') });
  });

  it('chooses the tfjs cpu backend only when asked for by name', async () => {
    const auto = await selectBackend({ env: {}, probeAll: true });
    expect(auto.backend.name).not.toBe('cpu');
    expect((await selectBackend({ env: { AWB_BACKEND: 'CPU' } })).backend.name).toBe('cpu');
  });

  it('rejects an unknown backend name with BACKEND_UNKNOWN', async () => {
    await expect(selectBackend({ env: { AWB_BACKEND: 'cuda' } })).rejects.toMatchObject({ code: 'BACKEND_UNKNOWN', message: expect.stringContaining('"cuda"') });
  });

  it('reports BACKEND_UNAVAILABLE with the probe reason when the named backend cannot load', async () => {
    const probe = await selectBackend({ env: {}, probeAll: true });
    const tensorflow = probe.candidates.filter((c) => c.name === 'tensorflow');
    if (tensorflow.some((c) => c.available)) {
      console.log('[select-backend] tfjs-node is installed here; the unavailable-backend case is not exercised');
      expect((await selectBackend({ backend: 'tensorflow', env: {} })).backend.name).toBe('tensorflow');
      return;
    }
    await expect(selectBackend({ backend: 'tensorflow', env: {} })).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringContaining('tensorflow-gpu'),
    });
  });
});

describe('concurrent selection', () => {
  it('leaves each tfjs backend computing on itself when they are selected at the same time', async () => {
    const [wasm, cpu] = await Promise.all([selectBackend({ backend: 'wasm', env: {} }), selectBackend({ backend: 'cpu', env: {} })]);
    const tf = await import('@tensorflow/tfjs-core');
    const a = { rows: 1, cols: 1, data: Float64Array.from([3]) };
    expect(Array.from((await wasm.backend.matmul(a, a)).data)).toEqual([9]);
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.backend()).toBe(tf.engine().findBackend('wasm'));
    expect(Array.from((await cpu.backend.matmul(a, a)).data)).toEqual([9]);
    expect(tf.backend()).toBe(tf.engine().findBackend('cpu'));
  });
});
