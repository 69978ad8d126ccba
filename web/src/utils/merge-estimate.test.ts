import { describe, expect, it } from 'vitest';
import { estimateMerge, estimateOutputRank, type EstimateInput } from './merge-estimate.ts';
import { detail, module } from '../test-support/fixtures.ts';
import { selectModule } from './module-patterns.ts';

// Two adapters shaped like fixtures/real/gemma3-logo (q,v at r=4) and gemma3-svg-main (q,k,v,o at r=4),
// reduced to 2 layers; q/o are 1024×640, k/v 256×640 as in gemma-3-270m.
const layer = (i: number, kinds: string[]) =>
  kinds.map((k) => module(`model.layers.${i}.self_attn.${k}_proj`, 4, k === 'q' ? 1024 : k === 'o' ? 640 : 256, k === 'o' ? 1024 : 640));
const logo = detail({ id: 'L', name: 'gemma3-logo', modules: [...layer(0, ['q', 'v']), ...layer(1, ['q', 'v'])] });
const svg = detail({ id: 'S', name: 'gemma3-svg-main', modules: [...layer(0, ['q', 'k', 'v', 'o']), ...layer(1, ['q', 'k', 'v', 'o'])] });

const base: EstimateInput = {
  adapters: [logo, svg],
  weights: [1, 1],
  method: 'lego',
  params: { k: null },
  include: [],
  exclude: [],
  policy: 'union',
  outputRank: null,
  bytesPerValue: 4,
};

describe('merge estimate', () => {
  it('counts the union of modules and sizes the output at rank k: Σ k·(m+n)·bytes', () => {
    const e = estimateMerge({ ...base, params: { k: 6 } });
    expect(e.moduleCount).toBe(8);
    expect(e.sharedCount).toBe(4);
    expect(e.outputRankMin).toBe(6);
    expect(e.outputRankMax).toBe(6);
    // per layer: q 6·(1024+640), k 6·(256+640), v 6·(256+640), o 6·(640+1024)
    const perLayer = 6 * (1664 + 896 + 896 + 1664);
    expect(e.params).toBe(2 * perLayer);
    expect(e.sizeBytes).toBe(2 * perLayer * 4);
  });

  it('warns that k/o modules are missing in gemma3-logo, naming the adapter and the count', () => {
    const e = estimateMerge(base);
    const w = e.warnings.find((x) => x.kind === 'module-missing');
    expect(w?.message).toContain('4 module(s) are missing in some inputs (gemma3-logo lacks 4)');
    expect(w?.message).toContain('count as zero deltas');
  });

  it('drops the missing modules under the intersection policy', () => {
    const e = estimateMerge({ ...base, policy: 'intersection' });
    expect(e.moduleCount).toBe(4);
  });

  it('warns about different base models', () => {
    const other = detail({ id: 'G', name: 'gpt2-tigrinya', baseModel: 'gpt2', modules: [module('h.0.attn.c_attn', 8, 2304, 768)] });
    const e = estimateMerge({ ...base, adapters: [logo, other] });
    expect(e.warnings.map((w) => w.kind)).toContain('base-mismatch');
    expect(e.warnings.find((w) => w.kind === 'base-mismatch')?.message).toContain('google/gemma-3-270m-it, gpt2');
  });

  it('treats base names that differ only in org prefix and punctuation as the same base, like the engine', () => {
    const renamed = { ...svg, baseModel: 'gemma3-270m-it' };
    expect(estimateMerge({ ...base, adapters: [logo, renamed] }).warnings.map((w) => w.kind)).not.toContain('base-mismatch');
    const unknown = { ...svg, baseModel: null };
    expect(estimateMerge({ ...base, adapters: [logo, unknown] }).warnings.map((w) => w.kind)).not.toContain('base-mismatch');
  });

  it('applies include/exclude globs over the whole module name', () => {
    const e = estimateMerge({ ...base, include: ['*q_proj'], exclude: ['*.layers.1.*'] });
    expect(e.moduleCount).toBe(1);
    const none = estimateMerge({ ...base, include: ['q_proj'] });
    expect(none.moduleCount).toBe(0);
    expect(none.warnings.map((w) => w.kind)).toContain('no-modules');
  });

  it('uses Σ ranks for exact concatenation, the largest rank by default, and output.rank as a cap', () => {
    expect(estimateOutputRank('cat', {}, [4, 8], 1024, 640)).toBe(12);
    expect(estimateOutputRank('svd', { rank: null }, [4, 8], 1024, 640)).toBe(8);
    expect(estimateOutputRank('lego', { k: 16 }, [4, 4], 12, 640)).toBe(12);
    expect(estimateMerge({ ...base, method: 'cat', outputRank: 5 }).outputRankMax).toBe(5);
  });

  it('notes a zero weight', () => {
    expect(estimateMerge({ ...base, weights: [0, 1] }).warnings.map((w) => w.message)).toContain('gemma3-logo has weight 0 and contributes nothing.');
  });
});

describe('module patterns', () => {
  it('match like the recipe: anchored, * spans dots, ? one character', () => {
    expect(selectModule('model.layers.12.self_attn.q_proj', ['*.layers.1?.*'], [])).toBe(true);
    expect(selectModule('model.layers.1.self_attn.q_proj', ['*.layers.1?.*'], [])).toBe(false);
    expect(selectModule('model.layers.1.self_attn.q_proj', [], ['*q_proj'])).toBe(false);
    expect(selectModule('model.layers.1.self_attn.q_proj', [], [])).toBe(true);
  });
});
