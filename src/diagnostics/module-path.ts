// Layer index and module type of a module path, for per-layer tables and heatmaps:
// "model.layers.3.self_attn.q_proj" → layer 3, type "q_proj".
import { targetName } from '../adapter/target-name.ts';

export interface ModulePath {
  readonly layer: number | null;
  readonly moduleType: string;
}

export function parseModulePath(name: string): ModulePath {
  const parts = name.includes('.') ? name.split('.') : name.split('_');
  const numeric = parts.find((p) => /^\d+$/.test(p));
  return { layer: numeric === undefined ? null : Number(numeric), moduleType: targetName(name) };
}
