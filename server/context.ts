// What every router receives: the services plus the app's options.
import type { IntervalHistogram } from 'node:perf_hooks';
import type { Services } from './services.ts';
import type { UploadLimits } from './uploads/receive-upload.ts';

export interface AppDeps {
  readonly services: Services;
  /** Bearer token required on every route when set. */
  readonly token?: string | undefined;
  /** Wakes the runner after an enqueue and forwards cancellation (absent: jobs wait for a worker). */
  readonly runner?: { pump(): void; notifyCancel(jobId: string): void; readonly active: number } | undefined;
  readonly uploadLimits?: Partial<UploadLimits>;
  /** Free bytes on the data disk (tests inject a small number). */
  readonly freeBytes?: (path: string) => Promise<number>;
  /** Folder of the built dashboard, or null when the build failed / is absent. */
  readonly webDist?: string | null;
  /** Shown instead of the dashboard when its build failed. */
  readonly dashboardError?: string | undefined;
  readonly sseHeartbeatMs?: number;
  /** SSE poll interval for events written by other processes. */
  readonly ssePollMs?: number;
  /** Hosts accepted in the Host header (DNS-rebinding guard); undefined: any. */
  readonly allowedHosts?: readonly string[] | undefined;
  readonly log?: (line: string) => void;
  readonly startedAt?: number;
  /** An enabled perf_hooks histogram of event-loop delay; /api/health reports and resets it. */
  readonly eventLoop?: IntervalHistogram | undefined;
}

export interface AppContext extends AppDeps {
  readonly uploadLimitsResolved: UploadLimits;
  readonly startedAtMs: number;
  readonly logLine: (line: string) => void;
}
