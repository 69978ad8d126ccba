// The code of the WorkbenchError that `run` throws (sync or async); fails the test when it throws
// something else or nothing at all.
import { expect } from 'vitest';
import { WorkbenchError } from '../../src/errors.ts';

export async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkbenchError);
    return (error as WorkbenchError).code;
  }
  throw new Error('expected a WorkbenchError');
}
