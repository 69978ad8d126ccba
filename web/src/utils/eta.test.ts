import { describe, expect, it } from 'vitest';
import { etaSeconds } from './eta.ts';

describe('job ETA', () => {
  it('extrapolates the rate over the current phase: 10 of 100 modules in 5 s leaves 45 s', () => {
    const samples = [
      { phase: 'load', step: 1, of: 1, atMs: 0 },
      { phase: 'merge', step: 0, of: 100, atMs: 1000 },
      { phase: 'merge', step: 10, of: 100, atMs: 6000 },
    ];
    expect(etaSeconds(samples, 6000)).toBeCloseTo(45, 9);
  });

  it('has no estimate before any step of the phase is done, and 0 when the phase is complete', () => {
    expect(etaSeconds([{ phase: 'merge', step: 0, of: 10, atMs: 0 }], 5000)).toBeNull();
    expect(etaSeconds([], 0)).toBeNull();
    expect(etaSeconds([{ phase: 'write', step: 1, of: 1, atMs: 0 }], 0)).toBe(0);
  });

  it('slows the estimate down when no progress arrives for a while', () => {
    const samples = [
      { phase: 'merge', step: 0, of: 4, atMs: 0 },
      { phase: 'merge', step: 2, of: 4, atMs: 2000 },
    ];
    expect(etaSeconds(samples, 2000)).toBeCloseTo(2, 9);
    expect(etaSeconds(samples, 6000)).toBeCloseTo(6, 9);
  });
});
