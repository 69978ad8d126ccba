// `awb convert IN -o OUT/ [--to peft|kohya|loha|lokr] [--rank R | --energy E] [--base BASE] …`:
// any importable adapter (LoRA, LoHa, LoKr, MiSS, VeRA, RandLoRA, LoRA-XS, DoRA; LoLDU with --base) to a PEFT or kohya
// LoRA, optionally truncated (the per-module relative error is printed and written to
// OUT/convert-report.json), or back to LoHa / LoKr where exact. Ctrl-C leaves no partial OUT/.
import { stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError, fromFsError } from '../../errors.ts';
import { EXPORT_DTYPES, type ExportDType } from '../../adapter/export-tensors.ts';
import type { TensorSource } from '../../safetensors/reader.ts';
import { openTensorSource, SHARD_INDEX_NAME, SINGLE_FILE_NAME } from '../../safetensors/sharded.ts';
import { loadAdapterOrLoldu } from '../../formats/load-loldu-adapter.ts';
import { sha256File } from '../../util/hash.ts';
import { CONVERT_REPORT_FILE, CONVERT_TARGETS, convertAdapter, type ConvertReport, type ConvertTarget } from '../../formats/convert-adapter.ts';
import { formatNumber } from './inspect.ts';
import type { CliCommand, CliIo } from '../command.ts';

const USAGE = `usage: awb convert IN -o OUT/ [--to peft|kohya|loha|lokr] [--rank R | --energy E] [--base BASE]
                   [--dtype F32|F16|BF16] [--seed N] [--allow-embed] [--json] [--overwrite]

Convert an adapter (PEFT/kohya/diffusers/MLX LoRA, LyCORIS or PEFT LoHa/LoKr, MiSS/Bone, VeRA,
RandLoRA, LoRA-XS, DoRA, LoLDU) to a LoRA, or back to LoHa/LoKr. OUT/ also gets ${CONVERT_REPORT_FILE}.

  --to peft            PEFT LoRA folder (default); families are written in their exact LoRA form
  --to kohya           one kohya LoRA .safetensors file in OUT/
  --to loha|lokr       LyCORIS LoHa/LoKr (PEFT naming for a PEFT LoHa input); only modules that
                       are LoHa/LoKr already are written, exactly (error FAMILY_STRUCTURE_MISSING otherwise)
  --allow-embed        with --to loha|lokr: write other modules as the trivial (B·A)⊙(1·1ᵀ) / kron([[1]], B·A)
  --rank R             truncate every module to rank ≤ R (exact SVD of its factors); error per module reported
  --energy E           keep the smallest rank holding fraction E (0 < E ≤ 1) of each module's ‖ΔW‖²
  --base BASE          base model (.safetensors file, shard index .json, or a folder with either):
                       DoRA modules become plain LoRA of their effective delta diag(g)(W0 + sBA) − W0
                       (needs --rank or --energy; randomized SVD, --seed, default 42); a LoLDU file
                       (vector_z only) becomes its exact LoRA, with P, L, D, U recomputed from W0
  --dtype F32|F16|BF16 output factor dtype (default F32)
  --json               print the report as JSON
  --overwrite          replace an existing OUT/`;

function numberOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `--${name} expects a number, got "${text}"`, { details: { option: name, value: text } });
  }
  return n;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `--${name} must be one of ${allowed.join(', ')}, got "${value}"`, { details: { option: name, value } });
  }
  return value as T;
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

export function renderConvertText(report: ConvertReport, shownOut: string): string {
  const lines: string[] = [];
  lines.push(`${report.tool.name} ${report.tool.version} · convert`);
  lines.push(`input     ${report.input.name} (${report.input.format})  ${report.input.files.map((f) => `${f.name} sha256 ${f.sha256}`).join(', ')}`);
  if (report.base) lines.push(`base      ${report.base.name} sha256 ${report.base.sha256}`);
  const cut = report.truncation.rank !== null ? `rank ≤ ${report.truncation.rank}` : report.truncation.energy !== null ? `energy ${report.truncation.energy}` : 'none';
  lines.push(`output    ${shownOut} (${report.to}, ${report.dtype}): ${report.outputFiles.join(', ')}`);
  lines.push(`truncate  ${cut}`);
  if (report.seed !== null) lines.push(`seed      ${report.seed}`);
  lines.push(`compute   ${report.backend}`);
  lines.push('');
  const nameWidth = Math.max(6, ...report.modules.map((m) => m.name.length)) + 2;
  lines.push(`${pad('module', nameWidth)}${pad('family', 10)}${pad('rank', 10)}${pad('conversion', 12)}rel. error`);
  for (const m of report.modules) {
    const conversion = m.written ? `${m.conversion} (${m.written})` : m.conversion;
    lines.push(`${pad(m.name, nameWidth)}${pad(m.family, 10)}${pad(`${m.rankIn}→${m.rankOut}`, 10)}${pad(conversion, 12)}${m.relativeError === 0 ? '0' : m.relativeError.toExponential(3)}`);
  }
  const s = report.summary;
  lines.push('');
  lines.push(`converted ${s.moduleCount} modules (${s.truncatedModules} truncated); relative error max ${formatNumber(s.maxRelativeError)}, mean ${formatNumber(s.meanRelativeError)}`);
  return `${lines.join('\n')}\n`;
}

/** The file that identifies the base in the report: the file itself, or a folder's model.safetensors / shard index. */
async function baseFile(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw fromFsError(error, path, 'read base model');
  }
  if (!info.isDirectory()) return path;
  for (const name of [SINGLE_FILE_NAME, SHARD_INDEX_NAME]) {
    const candidate = join(path, name);
    if (await stat(candidate).then((s) => s.isFile(), () => false)) return candidate;
  }
  return path; // openTensorSource reports the missing files
}

/** A base model given as a .safetensors file, a shard index (.json) or a folder holding either. */
async function openBase(path: string): Promise<{ source: TensorSource; file: { name: string; path: string; sizeBytes: number; sha256: string } }> {
  const identity = await baseFile(path);
  const source = await openTensorSource(path);
  try {
    const sizeBytes = (await stat(identity)).size;
    const name = identity === path ? basename(path) : `${basename(path)}/${basename(identity)}`;
    return { source, file: { name, path: identity, sizeBytes, sha256: await sha256File(identity) } };
  } catch (error) {
    await source.close();
    throw error;
  }
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      to: { type: 'string' },
      rank: { type: 'string' },
      energy: { type: 'string' },
      base: { type: 'string' },
      seed: { type: 'string' },
      dtype: { type: 'string' },
      'allow-embed': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      overwrite: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) {
    throw new WorkbenchError('INVALID_ARGUMENT', `convert takes exactly one input adapter, got ${positionals.length}\n${USAGE}`, { details: { positionals } });
  }
  if (!values.out) throw new WorkbenchError('INVALID_ARGUMENT', `convert needs an output folder: -o OUT/\n${USAGE}`);
  const to: ConvertTarget = oneOf('to', values.to, CONVERT_TARGETS) ?? 'peft';
  const dtype = oneOf<ExportDType>('dtype', values.dtype, EXPORT_DTYPES);
  const rank = numberOption('rank', values.rank);
  const energy = numberOption('energy', values.energy);
  if (rank !== undefined && energy !== undefined) {
    throw new WorkbenchError('INVALID_ARGUMENT', 'give --rank or --energy, not both');
  }
  const seed = numberOption('seed', values.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new WorkbenchError('INVALID_ARGUMENT', `--seed must be an integer, got ${seed}`, { details: { seed } });
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(io.cwd, p));
  const outDir = at(values.out);
  const base = values.base === undefined ? undefined : await openBase(at(values.base));
  try {
    const adapter = await loadAdapterOrLoldu(at(positionals[0]!), base?.source, { signal: io.signal });
    try {
      const report = await convertAdapter(adapter, outDir, {
        to,
        ...(rank === undefined ? {} : { rank }),
        ...(energy === undefined ? {} : { energy }),
        ...(base ? { base } : {}),
        ...(seed === undefined ? {} : { seed }),
        ...(dtype ? { dtype } : {}),
        allowEmbed: values['allow-embed'],
        overwrite: values.overwrite,
        signal: io.signal,
        command: ['awb', 'convert', ...args].join(' '),
      });
      io.stdout.write(values.json ? `${JSON.stringify({ outDir, ...report }, null, 2)}\n` : renderConvertText(report, values.out));
      return 0;
    } finally {
      await adapter.close();
    }
  } finally {
    await base?.source.close();
  }
}

export const command: CliCommand = {
  name: 'convert',
  summary: 'convert an adapter family (LoHa, LoKr, …) to LoRA, or back',
  usage: USAGE,
  run,
};
