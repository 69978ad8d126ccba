// /api/adapters: upload (multipart), list, detail (+spectra), delete.
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { receiveUpload } from '../uploads/receive-upload.ts';
import type { UploadDecision } from '../uploads/receive-upload.ts';
import { HttpError } from '../errors.ts';
import { MAX_CONCURRENT_UPLOADS, MAX_UPLOAD_CONFIG_BYTES } from '../limits.ts';
import { sanitizeLabel } from '../uploads/sanitize-label.ts';
import { idParam } from './params.ts';
import { adapterSpectra } from '../adapters/spectra.ts';

/** Stored names are fixed by the server; client names only pick which one. */
const KNOWN_WEIGHT_NAMES = new Set(['adapter_model.safetensors', 'adapters.safetensors', 'pytorch_lora_weights.safetensors']);

export function decideAdapterFile(label: string, accepted: readonly string[]): UploadDecision {
  if (label === 'adapter_config.json') {
    if (accepted.includes('adapter_config.json')) {
      throw new HttpError('UPLOAD_FILE_UNEXPECTED', 'the upload holds two adapter_config.json files', { file: label });
    }
    return { storedName: 'adapter_config.json', sniffSafetensors: false, maxBytes: MAX_UPLOAD_CONFIG_BYTES };
  }
  if (label.toLowerCase().endsWith('.safetensors')) {
    if (accepted.some((n) => n.endsWith('.safetensors'))) {
      throw new HttpError('UPLOAD_FILE_UNEXPECTED', 'the upload holds more than one .safetensors file; upload one adapter at a time', { file: label });
    }
    return { storedName: KNOWN_WEIGHT_NAMES.has(label) ? label : 'adapter_model.safetensors', sniffSafetensors: true };
  }
  return 'skip';
}

export function adaptersRouter(ctx: AppContext): Router {
  const router = Router();
  const { adapters, blobs, queue } = ctx.services;
  let uploading = 0;

  router.get('/', (_req, res) => {
    res.type('application/json').send(adapters.listBody());
  });

  router.post('/', async (req, res) => {
    if (uploading >= MAX_CONCURRENT_UPLOADS) {
      throw new HttpError('TOO_MANY_UPLOADS', `${MAX_CONCURRENT_UPLOADS} uploads are already in progress; retry shortly`, { limit: MAX_CONCURRENT_UPLOADS }, { 'Retry-After': '5' });
    }
    uploading += 1;
    try {
      const upload = await receiveUpload(req, {
        blobs,
        limits: ctx.uploadLimitsResolved,
        decide: decideAdapterFile,
        ...(ctx.freeBytes ? { freeBytes: ctx.freeBytes } : {}),
      });
      const weights = upload.files.find((f) => f.name.endsWith('.safetensors'));
      if (!weights) {
        await blobs.discard(upload.staging);
        throw new HttpError('UPLOAD_EMPTY', 'the upload holds no .safetensors weights file', { received: upload.files.map((f) => f.label) });
      }
      const fallback = weights.label.replace(/\.safetensors$/i, '');
      const label = sanitizeLabel(upload.fields.name, fallback === 'adapter_model' ? 'adapter' : fallback);
      const { detail, duplicate } = await adapters.register(upload.staging, upload.files, label);
      res.status(duplicate ? 200 : 201).json({ ...detail, duplicate });
    } finally {
      uploading -= 1;
    }
  });

  router.get('/:id', async (req, res) => {
    const id = idParam(req, 'adapter');
    const detail = adapters.get(id);
    if (req.query.spectra === '1' || req.query.spectra === 'true') {
      const spectra = await adapterSpectra(adapters.pathOf(id).path, detail.contentHash);
      res.json({ ...detail, spectra });
      return;
    }
    res.json(detail);
  });

  router.delete('/:id', async (req, res) => {
    const id = idParam(req, 'adapter');
    await adapters.delete(id, queue);
    res.status(204).end();
  });

  return router;
}
