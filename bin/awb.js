#!/usr/bin/env node
// Entry point for the `awb` CLI. The sources are TypeScript; tsx compiles
// them on the fly, so the CLI runs from a checkout and from a global install
// without a separate build step. `serve` and `worker` live in server/, which
// the library (src/) never imports, so they are dispatched here.
import { register } from 'tsx/esm/api';

register();
const argv = process.argv.slice(2);
if (argv[0] === 'serve' || argv[0] === 'worker') {
  const { serveMain } = await import('../server/main.ts');
  process.exitCode = await serveMain(argv);
} else {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(argv);
}
