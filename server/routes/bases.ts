// /api/bases: register a base by upload or by a path under the allow-listed root.
import { Router, json } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { receiveUpload } from '../uploads/receive-upload.ts';
import { HttpError } from '../errors.ts';
import { MAX_JSON_BODY } from '../limits.ts';
import { BASE_WEIGHTS_NAME } from '../bases/base-store.ts';
import { sanitizeLabel } from '../uploads/sanitize-label.ts';
import { parseBody } from './validate.ts';

const RegisterPath = z.strictObject({
  path: z.string().min(1).max(1000),
  name: z.string().min(1).max(200).optional(),
});

export function basesRouter(ctx: AppContext): Router {
  const router = Router();
  const { bases, blobs } = ctx.services;

  router.get('/', (_req, res) => {
    res.json({ items: bases.list() });
  });

  router.post('/', json({ limit: MAX_JSON_BODY }), async (req, res) => {
    if (req.is('application/json')) {
      const body = parseBody(RegisterPath, req.body);
      const { base, duplicate } = await bases.registerPath(body.path, body.name === undefined ? undefined : sanitizeLabel(body.name, 'base'));
      res.status(duplicate ? 200 : 201).json(base);
      return;
    }
    const upload = await receiveUpload(req, {
      blobs,
      limits: ctx.uploadLimitsResolved,
      decide: (label, accepted) => {
        if (label.toLowerCase().endsWith('.safetensors')) {
          if (accepted.includes(BASE_WEIGHTS_NAME)) throw new HttpError('UPLOAD_FILE_UNEXPECTED', 'one .safetensors file per base upload (sharded bases: register by path)', { file: label });
          return { storedName: BASE_WEIGHTS_NAME, sniffSafetensors: true };
        }
        if (label === 'config.json') return { storedName: 'config.json', sniffSafetensors: false, maxBytes: 1024 * 1024 };
        return 'skip';
      },
      ...(ctx.freeBytes ? { freeBytes: ctx.freeBytes } : {}),
    });
    const weights = upload.files.find((f) => f.name === BASE_WEIGHTS_NAME);
    if (!weights) {
      await blobs.discard(upload.staging);
      throw new HttpError('UPLOAD_EMPTY', 'the upload holds no .safetensors file', {});
    }
    const name = sanitizeLabel(upload.fields.name, weights.label.replace(/\.safetensors$/i, ''));
    const { base, duplicate } = await bases.register(upload.staging, name, 'upload', null);
    res.status(duplicate ? 200 : 201).json(base);
  });

  return router;
}
