// The CLI's command contract. Each command lives in src/cli/commands/<name>.ts
// and exports `command`. Commands parse with node:util parseArgs and call the
// same src/ functions the HTTP API calls.

export interface CliIo {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Fires on Ctrl-C; long commands stop and leave no partial output. */
  readonly signal: AbortSignal;
}

export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Returns the process exit code. Throws WorkbenchError for user-facing failures. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}
