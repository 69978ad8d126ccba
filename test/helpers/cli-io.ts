// A CliIo for driving main([...], io) in-process: stdout and stderr are captured as text.
import type { CliIo } from '../../src/cli/command.ts';
import { REPO_ROOT } from './paths.ts';

export interface FakeCliIoOptions {
  /** Working directory the command resolves relative paths against; the repository root unless given. */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /** Whether stderr claims to be a terminal (progress bars draw only then). */
  readonly stderrIsTTY?: boolean;
}

export interface FakeCliIo {
  readonly io: CliIo;
  out(): string;
  err(): string;
}

export function fakeCliIo(options: FakeCliIoOptions = {}): FakeCliIo {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (t: string) => out.push(t), isTTY: false },
    stderr: { write: (t: string) => err.push(t), isTTY: options.stderrIsTTY ?? false },
    env: options.env ?? {},
    cwd: options.cwd ?? REPO_ROOT,
    signal: options.signal ?? new AbortController().signal,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}
