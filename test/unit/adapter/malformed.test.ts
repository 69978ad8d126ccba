// Adapter-level bad inputs (fixtures/malformed/adapters/manifest.json): each yields its one
// error code, and the message names the file or module and the values seen.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { ERROR_CODES, isWorkbenchError } from '../../../src/errors.ts';

const DIR = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'malformed', 'adapters');

interface ManifestCase {
  case: string;
  path: string;
  description: string;
  expectedCode: string;
  probes: string[];
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as ManifestCase[];

describe('malformed adapters', () => {
  it('covers at least the required attacks and uses only known codes', () => {
    expect(manifest.length).toBeGreaterThanOrEqual(6);
    for (const c of manifest) expect(ERROR_CODES).toContain(c.expectedCode);
    const codes = new Set(manifest.map((c) => c.expectedCode));
    for (const code of ['ADAPTER_CONFIG_MISMATCH', 'ADAPTER_RANK_MISMATCH', 'ADAPTER_MISSING_FACTOR', 'ADAPTER_NONFINITE', 'ADAPTER_NOT_FOUND', 'ADAPTER_CONFIG_INVALID']) {
      expect(codes).toContain(code);
    }
  });

  for (const c of manifest) {
    it(`rejects ${c.case} (${c.description}) with ${c.expectedCode}`, async () => {
      const error = await loadAdapter(join(DIR, c.path)).then(
        async (adapter) => {
          await adapter.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error, 'loading should have failed').toBeDefined();
      expect(isWorkbenchError(error) ? error.code : String(error)).toBe(c.expectedCode);
      for (const probe of c.probes) {
        expect((error as Error).message).toContain(probe);
      }
    });
  }

  it('loads the NaN and Inf cases with allowNonFinite, recording a warning', async () => {
    for (const name of ['nan-values', 'inf-values']) {
      const adapter = await loadAdapter(join(DIR, name), { allowNonFinite: true });
      expect(adapter.warnings.some((w) => w.includes('non-finite'))).toBe(true);
      await adapter.close();
    }
  });
});
