// The importers, as a typed registry that refuses duplicates. Detection asks each
// importer how sure it is (0–3) and takes the surest; ties go to registration order.
import { WorkbenchError } from '../errors.ts';
import type { AdapterImporter, ImportInput } from './importer.ts';
import { peftImporter } from './import-peft.ts';
import { kohyaImporter } from './import-kohya.ts';
import { diffusersImporter } from './import-diffusers.ts';
import { mlxImporter } from './import-mlx.ts';
import { FAMILY_IMPORTERS } from '../formats/family-importers.ts';
import type { AdapterFormat } from './types.ts';

const registry = new Map<AdapterFormat, AdapterImporter>();

export function registerImporter(importer: AdapterImporter): void {
  if (registry.has(importer.format)) {
    throw new WorkbenchError('INTERNAL', `an importer for format "${importer.format}" is already registered`, {
      details: { format: importer.format },
    });
  }
  registry.set(importer.format, importer);
}

export function listImporters(): readonly AdapterImporter[] {
  return [...registry.values()];
}

export function getImporter(format: AdapterFormat): AdapterImporter | undefined {
  return registry.get(format);
}

/** The importer that claims the input most confidently, or undefined when none does. */
export function detectImporter(input: ImportInput): { importer: AdapterImporter; score: number } | undefined {
  let best: { importer: AdapterImporter; score: number } | undefined;
  for (const importer of registry.values()) {
    const score = importer.detect(input);
    if (score > 0 && (!best || score > best.score)) {
      best = { importer, score };
    }
  }
  return best;
}

// Family importers (src/formats) first: on a tie they win over the plain LoRA readers.
for (const importer of FAMILY_IMPORTERS) registerImporter(importer);
for (const importer of [peftImporter, kohyaImporter, diffusersImporter, mlxImporter]) {
  registerImporter(importer);
}
