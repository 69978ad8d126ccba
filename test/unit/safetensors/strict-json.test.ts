import { describe, expect, it } from 'vitest';
import { parseStrictJson, safeIntegerOf, StrictJsonError, type StrictJsonValue } from '../../../src/safetensors/strict-json.ts';

const OPTIONS = { maxDepth: 16, maxTopLevelEntries: 100 };
const parse = (text: string): StrictJsonValue => parseStrictJson(text, OPTIONS);

function failureOf(text: string, options = OPTIONS): string {
  try {
    parseStrictJson(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(StrictJsonError);
    return (error as StrictJsonError).failure;
  }
  return 'accepted';
}

describe('strict JSON tokenizer', () => {
  it('agrees with JSON.parse on the strings it decodes, escapes and surrogate pairs included', () => {
    const text = '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 😀 é"';
    const value = parse(text);
    expect(value).toEqual({ kind: 'string', value: JSON.parse(text) as string });
  });

  it('keeps numbers as their exact source text', () => {
    expect(parse('[9007199254740993, -0, 1.5e-3, 0]')).toEqual({
      kind: 'array',
      items: ['9007199254740993', '-0', '1.5e-3', '0'].map((text) => ({ kind: 'number', text })),
    });
  });

  it('stores objects in Maps, so __proto__ is an ordinary key', () => {
    const value = parse('{"__proto__":{"polluted":true},"constructor":null}');
    expect(value.kind).toBe('object');
    const entries = (value as { entries: ReadonlyMap<string, StrictJsonValue> }).entries;
    expect([...entries.keys()]).toEqual(['__proto__', 'constructor']);
    expect(entries.get('__proto__')).toEqual({ kind: 'object', entries: new Map([['polluted', { kind: 'boolean', value: true }]]) });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts surrounding JSON whitespace and the three literals', () => {
    expect(parse(' \t\r\n[true,false,null] \n')).toEqual({
      kind: 'array',
      items: [{ kind: 'boolean', value: true }, { kind: 'boolean', value: false }, { kind: 'null' }],
    });
  });

  it.each([
    ['a trailing comma in an object', '{"a":1,}'],
    ['a trailing comma in an array', '[1,]'],
    ['a leading zero', '[01]'],
    ['a bare fraction', '[.5]'],
    ['a dangling decimal point', '[1.]'],
    ['a plus sign', '[+1]'],
    ['NaN', '[NaN]'],
    ['single quotes', "{'a':1}"],
    ['an unquoted key', '{a:1}'],
    ['a raw newline in a string', '"a\nb"'],
    ['an invalid escape', '"\\x41"'],
    ['a short \\u escape', '"\\u12"'],
    ['a lone leading surrogate', '"\\ud800x"'],
    ['a leading surrogate followed by a non-surrogate escape', '"\\ud800\\u0041"'],
    ['a lone trailing surrogate', '"\\udc00"'],
    ['a misspelt literal', '[tru]'],
    ['an unterminated string', '"abc'],
    ['two documents', '{} {}'],
    ['a byte-order mark', '\ufeff{}'],
    ['nothing', ''],
  ])('rejects %s as a syntax error', (_what, text) => {
    expect(failureOf(text)).toBe('syntax');
  });

  it('rejects duplicate keys at any depth and names the key', () => {
    expect(failureOf('{"a":1,"a":1}')).toBe('duplicate-key');
    expect(failureOf('{"x":{"k":1,"k":2}}')).toBe('duplicate-key');
    try {
      parse('{"a":1,"\\u0061":2}');
    } catch (error) {
      expect((error as StrictJsonError).key).toBe('a');
    }
  });

  it('limits depth and top-level entries', () => {
    expect(failureOf(`${'['.repeat(16)}${']'.repeat(16)}`)).toBe('accepted');
    expect(failureOf(`${'['.repeat(17)}${']'.repeat(17)}`)).toBe('too-deep');
    expect(failureOf('{"a":1,"b":2,"c":3}', { maxDepth: 4, maxTopLevelEntries: 2 })).toBe('too-many-entries');
    expect(failureOf('{"a":{"x":1,"y":2,"z":3}}', { maxDepth: 4, maxTopLevelEntries: 2 })).toBe('accepted');
  });
});

describe('safeIntegerOf', () => {
  it.each([
    ['0', 0],
    ['24', 24],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['9007199254740992', 'unsafe'],
    ['18446744073709551617', 'unsafe'],
    ['-1', 'negative'],
    ['-0', 'not-integer'],
    ['2.0', 'not-integer'],
    ['1e3', 'not-integer'],
  ] as const)('reads %s as %s', (text, expected) => {
    expect(safeIntegerOf(text)).toBe(expected);
  });
});
