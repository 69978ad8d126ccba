// PEFT's get_pattern_key: which rank_pattern / alpha_pattern key applies to a module.
// Keys are tried in insertion order; key K matches module path P iff the regex
// `(.*\.)?(K)$` matches P from its start (algorithms.md §0.2, example A22).
// Keys are regexes from an uploaded file, so each is checked before it is compiled:
// bounded length, and no repeated group — "(a+)+", "(a|aa)*" and friends are the shapes of
// catastrophic backtracking, and real PEFT patterns never need them.
import { MAX_CONFIG_PATTERN_CHARS, MAX_CONFIG_PATTERN_QUANTIFIERS, MAX_PATTERN_SUBJECT_CHARS } from '../limits.ts';

const REPEATED_GROUP = /\)\s*[+*{]/;

/** Why a config regex is refused, or undefined when it is safe to compile. */
export function unsafePatternReason(pattern: string): string | undefined {
  if (pattern.length > MAX_CONFIG_PATTERN_CHARS) {
    return `is ${pattern.length} characters long (limit ${MAX_CONFIG_PATTERN_CHARS})`;
  }
  if (REPEATED_GROUP.test(pattern)) {
    return 'repeats a group (the shape of catastrophic backtracking; not accepted from files)';
  }
  const quantifiers = (pattern.match(/(?<!\\)(?:[*+]|\{\d*,\})/g) ?? []).length;
  if (quantifiers > MAX_CONFIG_PATTERN_QUANTIFIERS) {
    return `has ${quantifiers} unbounded repetitions (limit ${MAX_CONFIG_PATTERN_QUANTIFIERS})`;
  }
  return undefined;
}

export interface PatternMatch {
  readonly key: string;
  readonly value: number;
}

/** Compiled patterns cache: keys are regexes written by users; compile each once. */
const compiled = new Map<string, RegExp | null>();

function compile(key: string): RegExp | null {
  let re = compiled.get(key);
  if (re === undefined) {
    try {
      re = new RegExp(`^(.*\\.)?(${key})$`);
    } catch {
      // A Python regex JavaScript cannot compile: fall back to a literal suffix match.
      re = null;
    }
    compiled.set(key, re);
  }
  return re;
}

/** Returns the first matching key and its value, or undefined (use the default). */
export function getPatternKey(
  patterns: Readonly<Record<string, number>> | undefined,
  modulePath: string,
): PatternMatch | undefined {
  if (!patterns) {
    return undefined;
  }
  for (const [key, value] of Object.entries(patterns)) {
    const re = modulePath.length > MAX_PATTERN_SUBJECT_CHARS ? null : compile(key);
    const hit = re ? re.test(modulePath) : modulePath === key || modulePath.endsWith(`.${key}`);
    if (hit) {
      return { key, value };
    }
  }
  return undefined;
}

/** Escapes a module path so that PEFT reads it back as a literal pattern key. */
export function escapePatternKey(modulePath: string): string {
  return modulePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
