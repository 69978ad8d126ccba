// Route parameter checks: ids are validated by regex before any lookup.
import type { Request } from 'express';
import { isId } from '../ids.ts';
import { notFound } from '../errors.ts';

export function idParam(req: Request, what: string, name = 'id'): string {
  const value = req.params[name];
  const id = typeof value === 'string' ? value : '';
  if (!isId(id)) throw notFound(what, id.slice(0, 64));
  return id;
}
