// PEFT rank_pattern / alpha_pattern resolution, checked on algorithms.md §7 example A22.
import { describe, expect, it } from 'vitest';
import { escapePatternKey, getPatternKey } from '../../../src/adapter/pattern-key.ts';
import { peftScale } from '../../../src/adapter/peft-config.ts';

describe('getPatternKey (PEFT get_pattern_key semantics)', () => {
  const rankPattern = { q_proj: 4 };
  const alphaPattern = { 'layers\\.0\\.self_attn\\.q_proj': 32 };
  const resolve = (path: string, rslora = false): { r: number; alpha: number; scale: number } => {
    const r = getPatternKey(rankPattern, path)?.value ?? 8;
    const alpha = getPatternKey(alphaPattern, path)?.value ?? 16;
    return { r, alpha, scale: peftScale(alpha, r, rslora) };
  };

  it('A22: layers.0 q_proj takes both patterns → r 4, α 32, s 8', () => {
    expect(resolve('model.layers.0.self_attn.q_proj')).toEqual({ r: 4, alpha: 32, scale: 8 });
  });
  it('A22: layers.1 q_proj takes the rank pattern only → r 4, α 16, s 4', () => {
    expect(resolve('model.layers.1.self_attn.q_proj')).toEqual({ r: 4, alpha: 16, scale: 4 });
  });
  it('A22: v_proj takes the defaults → s 2, and 16/√8 = 5.656854 under rsLoRA', () => {
    expect(resolve('model.layers.1.self_attn.v_proj')).toEqual({ r: 8, alpha: 16, scale: 2 });
    expect(resolve('model.layers.1.self_attn.v_proj', true).scale).toBeCloseTo(5.656854, 6);
  });
  it('A22: "q_proj" does not match qq_proj (anchored at a dot or the start)', () => {
    expect(getPatternKey(rankPattern, 'model.layers.1.self_attn.qq_proj')).toBeUndefined();
  });
  it('A22: "layers\\.0\\.q_proj" matches nothing in a model whose q_proj sits under self_attn', () => {
    const p = { 'layers\\.0\\.q_proj': 2 };
    for (const path of ['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj']) {
      expect(getPatternKey(p, path)).toBeUndefined();
    }
  });
  it('takes the first matching key in insertion order', () => {
    expect(getPatternKey({ proj: 1, q_proj: 2 }, 'a.q_proj')?.key).toBe('q_proj');
    expect(getPatternKey({ 'q_proj': 2, '.*proj': 3 }, 'a.q_proj')?.value).toBe(2);
    expect(getPatternKey({ '.*proj': 3, 'q_proj': 2 }, 'a.q_proj')?.value).toBe(3);
  });
  it('escapes full module paths so that they match only themselves', () => {
    const key = escapePatternKey('model.layers.1.self_attn.q_proj');
    expect(getPatternKey({ [key]: 4 }, 'model.layers.1.self_attn.q_proj')?.value).toBe(4);
    expect(getPatternKey({ [key]: 4 }, 'model.layers.11.self_attn.q_proj')).toBeUndefined();
    expect(getPatternKey({ [key]: 4 }, 'modelXlayers.1.self_attn.q_proj')).toBeUndefined();
  });
});

describe('config regexes from uploaded files', () => {
  it('refuses nested quantifiers and over-long patterns before compiling them', async () => {
    const { unsafePatternReason } = await import('../../../src/adapter/pattern-key.ts');
    expect(unsafePatternReason('(a+)+$')).toMatch(/catastrophic/);
    expect(unsafePatternReason('(.*q_proj)*')).toMatch(/catastrophic/);
    expect(unsafePatternReason('(a|aa){2,}')).toMatch(/catastrophic/);
    expect(unsafePatternReason('x'.repeat(600))).toMatch(/600 characters/);
    expect(unsafePatternReason('.*a.*b.*c')).toMatch(/3 unbounded repetitions/);
    expect(unsafePatternReason('a\\+b\\*c.*')).toBeUndefined();
    expect(unsafePatternReason('layers\\.0\\.self_attn\\.q_proj')).toBeUndefined();
    expect(unsafePatternReason('.*\\.(q_proj|v_proj)')).toBeUndefined();
  });
  it('parsePeftConfig rejects such a rank_pattern key with ADAPTER_CONFIG_INVALID', async () => {
    const { parsePeftConfig } = await import('../../../src/adapter/peft-config.ts');
    expect(() => parsePeftConfig({ r: 8, rank_pattern: { '(a+)+b': 4 } }, 'adapter_config.json')).toThrow(/rank_pattern key "\(a\+\)\+b" repeats a group/);
  });
});
