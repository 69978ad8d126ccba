#!/usr/bin/env node
// Entry point for the `awb` CLI. The sources are TypeScript; tsx compiles
// them on the fly, so the CLI runs from a checkout and from a global install
// without a separate build step. `serve` and `worker` live in server/, which
// the library (src/) never imports, so they are dispatched here.
//
// Commands that stream large tensors (merge, analyze, convert) run in a child node with
// HEAVY_COMMAND_FLAGS: V8's young generation otherwise grows to 3 × 16 MB semispaces, mostly
// slack for code that keeps its data in reused ArrayBuffers; 1 MB semispaces cut a 32-layer BF16
// merge's peak RSS from ~180 to ~142 MB at equal CPU time (bench/results/merge.md). V8 reads the
// flag only at start-up, hence the relaunch (once; AWB_NO_RELAUNCH=1 skips it).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const HEAVY_COMMAND_FLAGS = ['--max-semi-space-size=1'];
const HEAVY_COMMANDS = new Set(['merge', 'analyze', 'convert']);

const argv = process.argv.slice(2);
// Not under a debugger (the child could not take the same inspector port).
const relaunch =
  HEAVY_COMMANDS.has(argv[0] ?? '') &&
  process.env.AWB_NO_RELAUNCH !== '1' &&
  !process.execArgv.some((flag) => flag.startsWith('--max-semi-space-size') || flag.startsWith('--inspect'));

if (relaunch) {
  const child = spawn(process.execPath, [...process.execArgv, ...HEAVY_COMMAND_FLAGS, fileURLToPath(import.meta.url), ...argv], { stdio: 'inherit' });
  // Signals sent to this process alone reach the command too (its handlers abort idempotently).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on('error', (error) => {
    process.stderr.write(`error [INTERNAL]: cannot start node for "awb ${argv[0]}": ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
} else {
  const { register } = await import('tsx/esm/api');
  register();
  if (argv[0] === 'serve' || argv[0] === 'worker') {
    const { serveMain } = await import('../server/main.ts');
    process.exitCode = await serveMain(argv);
  } else {
    const { main } = await import('../src/cli/main.ts');
    process.exitCode = await main(argv);
  }
}
