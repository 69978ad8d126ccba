// `awb` — dispatches to a command module; turns every WorkbenchError into one
// line with its code. Never prints a stack trace unless AWB_DEBUG is set.
import { isWorkbenchError } from '../errors.ts';
import { TOOL_NAME, TOOL_VERSION } from '../version.ts';
import type { CliCommand, CliIo } from './command.ts';

/** Command name → module path, relative to this file. `serve` and `worker` are dispatched by bin/awb.js. */
const COMMAND_MODULES = {
  inspect: './commands/inspect.ts',
  doctor: './commands/doctor.ts',
  merge: './commands/merge.ts',
  analyze: './commands/analyze.ts',
  convert: './commands/convert.ts',
} as const satisfies Record<string, string>;

export type CommandName = keyof typeof COMMAND_MODULES;

async function loadCommand(name: CommandName): Promise<CliCommand | undefined> {
  const path: string = COMMAND_MODULES[name];
  try {
    const mod = (await import(path)) as { command?: CliCommand };
    return mod.command;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(path.slice(2))) {
      return undefined;
    }
    throw error;
  }
}

function defaultIo(): CliIo {
  const controller = new AbortController();
  // Every SIGINT/SIGTERM aborts (idempotent): a Ctrl-C can arrive twice, from the terminal and
  // forwarded by bin/awb.js's relaunching parent, and must never fall through to the default
  // handler, which would exit before the temporary output is removed.
  process.on('SIGINT', () => controller.abort());
  process.on('SIGTERM', () => controller.abort());
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: controller.signal };
}

function usage(): string {
  const lines = [
    `${TOOL_NAME} ${TOOL_VERSION}`,
    '',
    'usage: awb <command> [options]',
    '',
    'commands:',
    '  inspect PATH [--json]        show an adapter: format, ranks, scales, targets, extras, norms',
    '  doctor [--json]              show Node, tool version and compute backends',
    '  merge RECIPE.yaml -o OUT/    merge adapters (or: awb merge --method lego --k 16 A/ B/ -o OUT/)',
    '  analyze --adapter A [...]    spectral diagnostics, with or without --base',
    '  convert IN -o OUT [--to F]   convert an adapter family (LoHa, LoKr, …) to LoRA, or back',
    '  serve [--port N] [--data D]  start the API and dashboard',
    '',
    'Run `awb <command> --help` for its options.',
  ];
  return `${lines.join('\n')}\n`;
}

export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${TOOL_VERSION}\n`);
    return 0;
  }
  if (!Object.hasOwn(COMMAND_MODULES, name)) {
    io.stderr.write(`error [INVALID_ARGUMENT]: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const command = await loadCommand(name as CommandName);
    if (!command) {
      io.stderr.write(`error [INVALID_ARGUMENT]: command "${name}" is not available in this build\n`);
      return 2;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(`${command.usage}\n`);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}

export function reportError(error: unknown, io: CliIo): number {
  if (isWorkbenchError(error)) {
    io.stderr.write(`error [${error.code}]: ${error.message}\n`);
    if (io.env.AWB_DEBUG) {
      io.stderr.write(`${error.stack ?? ''}\n`);
    }
    return error.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
  if ((error as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS')) {
    io.stderr.write(`error [INVALID_ARGUMENT]: ${(error as Error).message}\n`);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`error [INTERNAL]: ${message}\n(this is a bug; rerun with AWB_DEBUG=1 for details)\n`);
  if (io.env.AWB_DEBUG && error instanceof Error) {
    io.stderr.write(`${error.stack ?? ''}\n`);
  }
  return 70;
}
