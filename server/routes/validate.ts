// zod at the edge: a failed parse becomes 400 VALIDATION_FAILED naming the fields.
import type { z } from 'zod';
import { HttpError } from '../errors.ts';

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'this route takes a JSON body (Content-Type: application/json)', {});
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = issues[0];
    throw new HttpError('VALIDATION_FAILED', `invalid request${first ? `: ${first.path || '(body)'}: ${first.message}` : ''}`, { issues });
  }
  return parsed.data;
}
