// /api/health and /api/methods.
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import type { HealthDto } from '../dto.ts';
import { describeBackend, listMethods } from '../engine.ts';
import { TOOL_NAME, TOOL_VERSION } from '../../src/version.ts';

export function metaRouter(ctx: AppContext): Router {
  const router = Router();
  let windowStart = Date.now();
  router.get('/health', async (_req, res) => {
    const counts = ctx.services.queue.counts();
    const backend = await describeBackend();
    const body: HealthDto = {
      status: ctx.dashboardError ? 'degraded' : 'ok',
      tool: TOOL_NAME,
      version: TOOL_VERSION,
      backend,
      queue: { backend: ctx.services.queue.backend, queued: counts.queued, running: counts.running },
      uptimeSeconds: Math.round((Date.now() - ctx.startedAtMs) / 100) / 10,
      dashboard: ctx.webDist !== undefined && ctx.webDist !== null,
      authRequired: ctx.token !== undefined,
    };
    const h = ctx.eventLoop;
    if (h && h.count > 0) {
      const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
      const withDelay: HealthDto = {
        ...body,
        eventLoopDelay: { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), windowSeconds: Math.round((Date.now() - windowStart) / 100) / 10 },
      };
      h.reset();
      windowStart = Date.now();
      res.json(withDelay);
      return;
    }
    res.json(body);
  });
  router.get('/methods', (_req, res) => {
    res.json({ items: listMethods() });
  });
  return router;
}
