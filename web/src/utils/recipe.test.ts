import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { recipeFileName, recipeYaml } from './recipe.ts';
import type { MergeRequestDto } from '../api/types.ts';

const request: MergeRequestDto = {
  method: 'lego',
  inputs: [
    { adapter: '01JABCDEFGHJKMNPQRSTVWXYZ0', weight: 1 },
    { adapter: '01JABCDEFGHJKMNPQRSTVWXYZ1', weight: -0.5 },
  ],
  params: { k: 4, msuFeature: 'canonical' },
  modules: { policy: 'union', include: ['*q_proj'], exclude: [] },
  output: { format: 'peft', dtype: 'F32', rank: 4 },
  seed: 7,
};

describe('recipe YAML', () => {
  it('parses back to exactly the request the API receives', () => {
    const text = recipeYaml(request);
    expect(parse(text)).toEqual(request);
  });

  it('keeps negative weights and params as numbers, not strings', () => {
    const back = parse(recipeYaml(request)) as MergeRequestDto;
    expect(back.inputs[1]?.weight).toBe(-0.5);
    expect(back.params?.['k']).toBe(4);
    expect(back.seed).toBe(7);
  });

  it('names each input adapter in a comment and says how to run it with the CLI', () => {
    const names = new Map([
      ['01JABCDEFGHJKMNPQRSTVWXYZ0', 'gemma3-logo'],
      ['01JABCDEFGHJKMNPQRSTVWXYZ1', 'gemma3-svg-main'],
    ]);
    const text = recipeYaml(request, { names, toolVersion: '0.1.0' });
    expect(text).toMatch(/^# Adapter Workbench merge recipe \(workbench 0\.1\.0\)\./);
    expect(text).toContain('awb merge recipe.yaml -o OUT/');
    const logo = text.indexOf('# gemma3-logo');
    const svg = text.indexOf('# gemma3-svg-main');
    expect(logo).toBeGreaterThan(text.indexOf('inputs:'));
    expect(svg).toBeGreaterThan(logo);
    expect(text.indexOf('01JABCDEFGHJKMNPQRSTVWXYZ0')).toBeGreaterThan(logo);
    expect(parse(text)).toEqual(request);
  });

  it('suggests a file name from the method and input count', () => {
    expect(recipeFileName(request)).toBe('recipe-lego-2-adapters.yaml');
    expect(recipeFileName({ ...request, method: 'dare ties/../x' })).toBe('recipe-dare-ties-x-2-adapters.yaml');
  });
});
