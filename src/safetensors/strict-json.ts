// A strict JSON tokenizer for safetensors headers and shard indexes. Unlike JSON.parse it
// rejects duplicate keys, keeps numbers as their source text (so 2^53 + 1 is never rounded
// and 2.0 is not mistaken for 2), stores objects in Maps (a `__proto__` key is plain data),
// limits nesting depth and the number of top-level entries, and rejects lone surrogates.

export type StrictJsonValue =
  | { readonly kind: 'object'; readonly entries: ReadonlyMap<string, StrictJsonValue> }
  | { readonly kind: 'array'; readonly items: readonly StrictJsonValue[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' };

export type StrictJsonFailure = 'syntax' | 'duplicate-key' | 'too-deep' | 'too-many-entries';

export class StrictJsonError extends Error {
  constructor(
    readonly failure: StrictJsonFailure,
    message: string,
    /** Character index in the text. */
    readonly position: number,
    readonly key?: string,
  ) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

export interface StrictJsonOptions {
  /** Deepest nesting of objects/arrays; the top-level value is depth 1. */
  readonly maxDepth: number;
  /** Most entries the top-level object may hold (counted while parsing, so a bomb stops early). */
  readonly maxTopLevelEntries: number;
}

/** Characters that send a string down the careful path: escapes, controls, surrogates. */
const SLOW_STRING_CHARS = /[\\\u0000-\u001f\ud800-\udfff]/;

const NUMBER_PATTERN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function describe(char: string | undefined): string {
  return char === undefined ? 'end of input' : JSON.stringify(char);
}

class Parser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly options: StrictJsonOptions,
  ) {}

  parseDocument(): StrictJsonValue {
    this.skipWhitespace();
    const value = this.parseValue(1);
    this.skipWhitespace();
    if (this.pos !== this.text.length) {
      this.fail(`unexpected ${describe(this.text[this.pos])} after the JSON value`);
    }
    return value;
  }

  private fail(message: string, failure: StrictJsonFailure = 'syntax', key?: string): never {
    throw new StrictJsonError(failure, `${message} at character ${this.pos}`, this.pos, key);
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
    this.pos = pos;
  }

  private parseValue(depth: number): StrictJsonValue {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.parseObject(depth);
      case '[':
        return this.parseArray(depth);
      case '"':
        return { kind: 'string', value: this.parseString() };
      case 't':
        return this.parseLiteral('true', { kind: 'boolean', value: true });
      case 'f':
        return this.parseLiteral('false', { kind: 'boolean', value: false });
      case 'n':
        return this.parseLiteral('null', { kind: 'null' });
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
          return this.parseNumber();
        }
        return this.fail(`unexpected ${describe(c)} where a value was expected`);
    }
  }

  private parseLiteral(word: string, value: StrictJsonValue): StrictJsonValue {
    if (!this.text.startsWith(word, this.pos)) {
      this.fail(`invalid literal`);
    }
    this.pos += word.length;
    return value;
  }

  private parseNumber(): StrictJsonValue {
    NUMBER_PATTERN.lastIndex = this.pos;
    const match = NUMBER_PATTERN.exec(this.text);
    if (!match) {
      this.fail('invalid number');
    }
    const text = match[0];
    this.pos += text.length;
    const next = this.text.charCodeAt(this.pos);
    // A digit, '.', 'e', 'E', '+' or '-' right after a number means a malformed one (e.g. 01).
    if ((next >= 0x30 && next <= 0x39) || next === 0x2e || next === 0x65 || next === 0x45 || next === 0x2b || next === 0x2d) {
      this.fail('invalid number (leading zero or malformed fraction/exponent)');
    }
    return { kind: 'number', text };
  }

  private enter(depth: number): void {
    if (depth > this.options.maxDepth) {
      this.fail(`nesting deeper than ${this.options.maxDepth} levels`, 'too-deep');
    }
  }

  private parseObject(depth: number): StrictJsonValue {
    this.enter(depth);
    this.pos++; // {
    const entries = new Map<string, StrictJsonValue>();
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { kind: 'object', entries };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') {
        this.fail(`expected a string key, found ${describe(this.text[this.pos])}`);
      }
      const keyStart = this.pos;
      const key = this.parseString();
      if (entries.has(key)) {
        this.pos = keyStart;
        this.fail(`duplicate key ${JSON.stringify(key)}`, 'duplicate-key', key);
      }
      if (depth === 1 && entries.size >= this.options.maxTopLevelEntries) {
        this.fail(`more than ${this.options.maxTopLevelEntries} top-level entries`, 'too-many-entries');
      }
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') {
        this.fail(`expected ':' after key ${JSON.stringify(key)}`);
      }
      this.pos++;
      this.skipWhitespace();
      entries.set(key, this.parseValue(depth + 1));
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return { kind: 'object', entries };
      }
      this.fail(`expected ',' or '}' in an object, found ${describe(c)}`);
    }
  }

  private parseArray(depth: number): StrictJsonValue {
    this.enter(depth);
    this.pos++; // [
    const items: StrictJsonValue[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.parseValue(depth + 1));
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return { kind: 'array', items };
      }
      this.fail(`expected ',' or ']' in an array, found ${describe(c)}`);
    }
  }

  private parseHex4(): number {
    const hex = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
      this.fail('invalid \\u escape');
    }
    this.pos += 4;
    return Number.parseInt(hex, 16);
  }

  private parseString(): string {
    const text = this.text;
    this.pos++; // opening quote
    // Fast path: no escapes, control characters or surrogates before the closing quote.
    const close = text.indexOf('"', this.pos);
    if (close >= 0) {
      const candidate = text.slice(this.pos, close);
      if (!SLOW_STRING_CHARS.test(candidate)) {
        this.pos = close + 1;
        return candidate;
      }
    }
    let out = '';
    let runStart = this.pos;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (Number.isNaN(c)) {
        this.fail('unterminated string');
      }
      if (c === 0x22) {
        out += text.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) {
        this.fail('unescaped control character in a string');
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        // Raw surrogates only arrive in pairs from a UTF-8 decoder; check anyway.
        const next = text.charCodeAt(this.pos + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
          this.fail('lone surrogate in a string');
        }
        this.pos += 2;
        continue;
      }
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += text.slice(runStart, this.pos);
      this.pos++; // backslash
      const e = text[this.pos];
      this.pos++;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const unit = this.parseHex4();
          if (unit >= 0xdc00 && unit <= 0xdfff) {
            this.fail('lone trailing surrogate in a \\u escape');
          }
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (text[this.pos] !== '\\' || text[this.pos + 1] !== 'u') {
              this.fail('lone leading surrogate in a \\u escape');
            }
            this.pos += 2;
            const low = this.parseHex4();
            if (low < 0xdc00 || low > 0xdfff) {
              this.fail('lone leading surrogate in a \\u escape');
            }
            out += String.fromCharCode(unit, low);
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          this.pos--;
          this.fail(`invalid escape \\${e ?? ''}`);
      }
      runStart = this.pos;
    }
  }
}

/** Parses one JSON document strictly; throws StrictJsonError. */
export function parseStrictJson(text: string, options: StrictJsonOptions): StrictJsonValue {
  return new Parser(text, options).parseDocument();
}

/** The exact non-negative integer a number token spells, or a reason it is not a safe one. */
export function safeIntegerOf(text: string): number | 'negative' | 'not-integer' | 'unsafe' {
  if (text.startsWith('-')) {
    return /^-0+$/.test(text) ? 'not-integer' : 'negative';
  }
  if (!/^[0-9]+$/.test(text)) {
    return 'not-integer';
  }
  if (text.length > 16 || BigInt(text) > BigInt(Number.MAX_SAFE_INTEGER)) {
    return 'unsafe';
  }
  return Number(text);
}
