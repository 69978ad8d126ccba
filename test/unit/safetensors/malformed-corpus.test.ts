import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../../src/errors.ts';
import { openSafetensors, parseSafetensors, type TensorSource } from '../../../src/safetensors/reader.ts';
import type { ManifestEntry, Probe, ProbeValue } from '../../../fixtures/malformed/manifest-types.ts';

const folder = join(import.meta.dirname, '../../../fixtures/malformed');
const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as ManifestEntry[];

function expectValue(actual: number, expected: ProbeValue): void {
  if (expected === 'NaN') expect(Number.isNaN(actual)).toBe(true);
  else if (expected === 'Infinity') expect(actual).toBe(Infinity);
  else if (expected === '-Infinity') expect(actual).toBe(-Infinity);
  else expect(actual).toBe(expected); // probes hold values exactly representable in the stored dtype
}

async function checkValid(source: TensorSource, probes: Probe[]): Promise<void> {
  for (const probe of probes) {
    switch (probe.kind) {
      case 'tensor': {
        const info = source.info(probe.name);
        expect(info.dtype).toBe(probe.dtype);
        expect(info.shape).toEqual(probe.shape);
        const f32 = await source.readFloat32(probe.name);
        const f64 = await source.readFloat64(probe.name);
        expect(f32.length).toBe(probe.values.length);
        probe.values.forEach((v, i) => {
          expectValue(f32[i]!, v);
          expectValue(f64[i]!, v);
        });
        break;
      }
      case 'metadata':
        expect(Object.hasOwn(source.metadata, probe.key)).toBe(true);
        expect(source.metadata[probe.key]).toBe(probe.value);
        break;
      case 'tensor-count':
        expect(source.tensors.size).toBe(probe.count);
        break;
      case 'warning-count':
        expect(source.warnings?.length).toBe(probe.count);
        break;
      case 'message-includes':
        throw new Error('message probes belong to malformed entries');
    }
  }
}

async function expectRejected(run: () => Promise<unknown>, entry: ManifestEntry, label: string): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `${entry.file} should be rejected`).toBeInstanceOf(WorkbenchError);
  const error = caught as WorkbenchError;
  expect(error.code).toBe(entry.expectedCode);
  expect(error.message).toContain(label);
  expect(error.permanent).toBe(true);
  for (const probe of entry.probes) {
    if (probe.kind === 'message-includes') expect(error.message).toContain(probe.text);
  }
}

describe('malformed safetensors corpus (fixtures/malformed/manifest.json)', () => {
  it('holds at least 30 malformed files and the valid oddities', () => {
    expect(manifest.filter((e) => e.expectedCode !== null).length).toBeGreaterThanOrEqual(30);
    expect(manifest.some((e) => e.expectedCode === null && e.file.includes('nan-inf'))).toBe(true);
  });

  for (const entry of manifest) {
    const path = join(folder, entry.file);
    if (entry.expectedCode === null) {
      it(`accepts ${entry.file} and reads back its probes`, async () => {
        const file = await openSafetensors(path);
        try {
          await checkValid(file, entry.probes);
        } finally {
          await file.close();
        }
        await checkValid(parseSafetensors(new Uint8Array(readFileSync(path)), entry.file), entry.probes);
      });
    } else {
      it(`rejects ${entry.file} with ${entry.expectedCode}`, async () => {
        await expectRejected(() => openSafetensors(path), entry, path);
        const bytes = new Uint8Array(readFileSync(path));
        await expectRejected(async () => parseSafetensors(bytes, entry.file), entry, entry.file);
      });
    }
  }

  it('leaves Object.prototype untouched after reading __proto__ names', async () => {
    const source = await openSafetensors(join(folder, 'valid-proto-tensor-name.safetensors'));
    await source.close();
    const meta = parseSafetensors(new Uint8Array(readFileSync(join(folder, 'valid-proto-metadata-key.safetensors'))));
    expect(Object.getPrototypeOf(meta.metadata)).toBe(null);
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });
});
