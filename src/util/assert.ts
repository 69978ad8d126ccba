import { WorkbenchError } from '../errors.ts';

export function assertUnreachable(value: never): never {
  throw new WorkbenchError('INTERNAL', `unreachable case: ${JSON.stringify(value)}`);
}

export function assertInternal(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new WorkbenchError('INTERNAL', message);
  }
}
