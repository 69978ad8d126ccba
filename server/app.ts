// The Express application, without a listener: security headers, optional
// bearer auth, the API routers, the built dashboard, a JSON 404 and one error
// middleware. main.ts listens; tests drive it in-process with supertest.
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext, AppDeps } from './context.ts';
import { HttpError, toProblem } from './errors.ts';
import { MAX_UPLOAD_BYTES, MAX_UPLOAD_FILES, MAX_UPLOAD_PARTS } from './limits.ts';
import { adaptersRouter } from './routes/adapters.ts';
import { basesRouter } from './routes/bases.ts';
import { jobsRouter } from './routes/jobs.ts';
import { metaRouter } from './routes/meta.ts';

export type { AppDeps } from './context.ts';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function bearerAuth(token: string) {
  const expected = digest(token);
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.get('Authorization') ?? '';
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    // The dashboard's EventSource cannot set headers: it may pass the token as ?access_token=.
    const fromQuery = req.method === 'GET' && typeof req.query.access_token === 'string' ? req.query.access_token : undefined;
    const given = match?.[1] ?? fromQuery;
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      next(new HttpError('UNAUTHORIZED', 'this server requires a bearer token (Authorization: Bearer $AWB_TOKEN)', {}, { 'WWW-Authenticate': 'Bearer' }));
      return;
    }
    next();
  };
}

function dashboardFallback(message: string): string {
  const esc = message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>Adapter Workbench</title>
<body style="font-family:system-ui;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>Adapter Workbench</h1><p><strong>The dashboard build failed</strong>; the HTTP API still works
(<a href="/api/health">/api/health</a>, see docs/openapi.yaml).</p><pre style="white-space:pre-wrap">${esc}</pre></body>`;
}

export function createApp(deps: AppDeps): express.Express {
  const ctx: AppContext = {
    ...deps,
    uploadLimitsResolved: {
      maxBytes: deps.uploadLimits?.maxBytes ?? MAX_UPLOAD_BYTES,
      maxFiles: deps.uploadLimits?.maxFiles ?? MAX_UPLOAD_FILES,
      maxParts: deps.uploadLimits?.maxParts ?? MAX_UPLOAD_PARTS,
    },
    startedAtMs: deps.startedAt ?? Date.now(),
    logLine: deps.log ?? ((line: string) => process.stderr.write(`${line}\n`)),
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const id = randomBytes(6).toString('hex');
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  });
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:', 'blob:'],
          'connect-src': ["'self'"],
          'object-src': ["'none'"],
          'frame-ancestors': ["'none'"],
        },
      },
      crossOriginResourcePolicy: { policy: 'same-origin' },
    }),
  );
  if (deps.allowedHosts) {
    const allowed = new Set(deps.allowedHosts.map((h) => h.toLowerCase()));
    app.use((req, _res, next) => {
      const host = (req.get('Host') ?? '').toLowerCase().replace(/:\d+$/, '');
      if (!allowed.has(host)) {
        next(new HttpError('UNAUTHORIZED', 'unexpected Host header (DNS rebinding guard)', { host: host.slice(0, 100) }));
        return;
      }
      next();
    });
  }
  // CORS stays closed: no Access-Control-* headers; cross-site writes are refused outright.
  app.use((req, _res, next) => {
    const origin = req.get('Origin');
    if (origin !== undefined && req.method !== 'GET' && req.method !== 'HEAD') {
      const host = req.get('Host') ?? '';
      let originHost = '';
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = '';
      }
      if (originHost !== host) {
        next(new HttpError('UNAUTHORIZED', 'cross-origin requests are not allowed', { origin: origin.slice(0, 200) }));
        return;
      }
    }
    next();
  });
  if (deps.token !== undefined) app.use(bearerAuth(deps.token));

  app.use('/api/adapters', adaptersRouter(ctx));
  app.use('/api/bases', basesRouter(ctx));
  app.use('/api', metaRouter(ctx));
  app.use('/api', jobsRouter(ctx));
  app.use('/api', (req, _res, next) => {
    next(new HttpError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.originalUrl.split('?')[0]?.slice(0, 200)}`, { method: req.method }));
  });

  if (deps.webDist && existsSync(join(deps.webDist, 'index.html'))) {
    const dist = deps.webDist;
    app.use(express.static(dist, { index: 'index.html', fallthrough: true, maxAge: '1h' }));
    // Client-side routes (the Vue router) fall back to index.html.
    app.get(/^\/(?!api\/).*/, (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(join(dist, 'index.html'));
    });
  } else {
    app.get('/', (_req, res) => {
      res.status(200).type('html').send(dashboardFallback(deps.dashboardError ?? 'the dashboard is not built (run npm run build)'));
    });
  }

  app.use((req, _res, next) => {
    next(new HttpError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.path.slice(0, 200)}`, { method: req.method }));
  });

  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const requestId = String(res.locals.requestId ?? '');
    const { status, body, expected } = toProblem(error, requestId);
    if (!expected) ctx.logLine(`[${requestId}] ${req.method} ${req.path} → 500: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof HttpError) for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
    if (status === 413 || (req.method === 'POST' && !req.complete)) res.setHeader('Connection', 'close');
    res.status(status).json(body);
  });
  return app;
}
