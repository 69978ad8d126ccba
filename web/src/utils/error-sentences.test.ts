import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors.ts';
import { SERVER_ERROR_CODES } from '../../../server/errors.ts';
import { CLIENT_ERROR_CODES } from '../api/api-error.ts';
import { describeError, ERROR_SENTENCES, sentenceFor } from './error-sentences.ts';

describe('error code → sentence table', () => {
  it('has a sentence for every library, server and client code', () => {
    const missing = [...ERROR_CODES, ...SERVER_ERROR_CODES, ...CLIENT_ERROR_CODES].filter((code) => !(code in ERROR_SENTENCES));
    expect(missing).toEqual([]);
  });

  it('writes sentences: capitalised, ending with a stop or question mark, no raw code inside', () => {
    for (const [code, sentence] of Object.entries(ERROR_SENTENCES)) {
      expect(sentence, code).toMatch(/^[A-Z].*[.?)]$/s);
      expect(sentence, code).not.toContain(code);
    }
  });

  it('still answers a sentence for a code it does not know', () => {
    expect(sentenceFor('SOMETHING_NEW')).toBe('The operation failed (SOMETHING_NEW).');
  });

  it('keeps the server message as detail only when it adds information', () => {
    const withDetail = describeError({ code: 'ST_HEADER_NOT_JSON', message: 'broken.safetensors: header byte 3 is "x"' });
    expect(withDetail.sentence).toBe('This is not a valid safetensors file: its header is not JSON.');
    expect(withDetail.detail).toBe('broken.safetensors: header byte 3 is "x"');
    const same = describeError({ code: 'UPLOAD_EMPTY', message: sentenceFor('UPLOAD_EMPTY') });
    expect(same.detail).toBeNull();
  });
});
