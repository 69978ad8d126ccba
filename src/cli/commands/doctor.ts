// `awb doctor [--json] [--backend NAME]`: what this machine offers the workbench —
// Node, tool version, CPU (cores, AVX-512), every compute backend candidate with
// why it was or was not chosen, and whether any GPU was reached.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { isWorkbenchError } from '../../errors.ts';
import type { BackendDescription } from '../../compute/backend.ts';
import { selectBackend } from '../../compute/select-backend.ts';
import type { BackendCandidate } from '../../compute/select-backend.ts';
import { TOOL_NAME, TOOL_VERSION } from '../../version.ts';
import type { CliCommand, CliIo } from '../command.ts';

export interface DoctorReport {
  readonly tool: { readonly name: string; readonly version: string };
  readonly node: { readonly version: string; readonly platform: string; readonly arch: string };
  readonly cpu: {
    readonly model: string;
    readonly cores: number;
    readonly availableParallelism: number;
    /** null where /proc/cpuinfo is not readable (not Linux). */
    readonly avx512f: boolean | null;
  };
  readonly gpu: {
    readonly found: boolean;
    /** Devices a backend reached. */
    readonly devices: readonly string[];
    /** A GPU device node exists but no backend reached it. */
    readonly hint: string | null;
  };
  readonly requested: string;
  readonly backends: readonly BackendCandidate[];
  /** null when the requested backend could not be loaded. */
  readonly chosen: BackendDescription | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

function cpuFlags(): Set<string> | null {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('flags'));
    return line === undefined ? null : new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return null;
  }
}

/** Gathers the report; `backend`/`env` are passed to selectBackend (every candidate is probed). */
export async function doctorReport(options: { backend?: string; env: Readonly<Record<string, string | undefined>> }): Promise<DoctorReport> {
  const flags = cpuFlags();
  let candidates: readonly BackendCandidate[];
  let chosen: BackendDescription | null = null;
  let requested: string;
  let error: DoctorReport['error'] = null;
  try {
    const selection = await selectBackend({ backend: options.backend, env: options.env, probeAll: true });
    candidates = selection.candidates;
    chosen = { ...selection.backend.description };
    requested = selection.requested;
  } catch (caught) {
    if (!isWorkbenchError(caught) || caught.code !== 'BACKEND_UNAVAILABLE') throw caught;
    candidates = caught.details.candidates as BackendCandidate[];
    requested = String(caught.details.requested);
    error = { code: caught.code, message: caught.message };
  }
  const devices = candidates.filter((c) => c.available && c.isGpu && c.device !== undefined).map((c) => `${c.device} via ${c.id}`);
  const nodeFound = ['/dev/nvidia0', '/dev/dri/renderD128', '/dev/kfd'].find((p) => existsSync(p));
  const hint =
    devices.length === 0 && nodeFound !== undefined
      ? `${nodeFound} exists but no backend reached a GPU: install @tensorflow/tfjs-node-gpu (CUDA) or libvulkan1 with the vendor's Vulkan driver (webgpu)`
      : null;
  const cpuList = cpus();
  return {
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    node: { version: process.version, platform: process.platform, arch: process.arch },
    cpu: { model: cpuList[0]?.model.trim() ?? 'unknown', cores: cpuList.length, availableParallelism: availableParallelism(), avx512f: flags === null ? null : flags.has('avx512f') },
    gpu: { found: devices.length > 0, devices, hint },
    requested,
    backends: candidates,
    chosen,
    error,
  };
}

function formatText(report: DoctorReport): string {
  const lines = [
    `${report.tool.name} ${report.tool.version}`,
    `node      ${report.node.version} (${report.node.platform}-${report.node.arch})`,
    `cpu       ${report.cpu.model}: ${report.cpu.cores} cores, ${report.cpu.availableParallelism} usable, AVX-512F ${report.cpu.avx512f === null ? 'unknown' : report.cpu.avx512f ? 'yes' : 'no'}`,
    `gpu       ${report.gpu.found ? report.gpu.devices.join('; ') : 'none found'}`,
  ];
  if (report.gpu.hint) lines.push(`          ${report.gpu.hint}`);
  lines.push('', `compute backends (automatic order; requested: ${report.requested}):`);
  const width = Math.max(...report.backends.map((c) => c.id.length));
  for (const c of report.backends) {
    const mark = c.chosen ? '*' : c.available === true ? '+' : c.available === false ? '-' : '?';
    const what = c.available ? `${c.device}, ${c.version}` : c.packages;
    lines.push(`  ${mark} ${c.id.padEnd(width)}  ${what}`, `      ${' '.repeat(width)}${c.reason}`);
  }
  lines.push('  (* chosen, + available, - unavailable, ? not probed)', '');
  lines.push(report.chosen ? `chosen backend: ${report.chosen.name} — ${report.chosen.device}, ${report.chosen.version}` : `chosen backend: none (${report.error?.message ?? ''})`);
  return `${lines.join('\n')}\n`;
}

export const command: CliCommand = {
  name: 'doctor',
  summary: 'show Node, tool version and compute backends',
  usage: [
    'usage: awb doctor [--json] [--backend NAME]',
    '',
    'Shows the Node version, the tool version, the CPU, every compute backend',
    '(tensorflow, webgpu, wasm, ts, cpu) with why it was or was not chosen, and',
    'whether a GPU was found. --backend (or AWB_BACKEND) checks one backend by name.',
    'Exits 1 when the requested backend cannot be loaded.',
  ].join('\n'),
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const { values } = parseArgs({
      args: [...args],
      options: { json: { type: 'boolean', default: false }, backend: { type: 'string' } },
      allowPositionals: false,
      strict: true,
    });
    const report = await doctorReport({ backend: values.backend, env: io.env });
    io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report));
    return report.chosen === null ? 1 : 0;
  },
};
