// Typed values of string command-line options, shared by the commands: each refuses a bad value
// with INVALID_ARGUMENT naming the option and the text seen.
import { WorkbenchError } from '../errors.ts';

/** A finite number, or undefined when the option was not given. */
export function numberOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `--${name} expects a number, got "${text}"`, { details: { option: name, value: text } });
  }
  return n;
}

/** One of `allowed`, or undefined when the option was not given. */
export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `--${name} must be one of ${allowed.join(', ')}, got "${value}"`, { details: { option: name, value } });
  }
  return value as T;
}
