import type { JobDto } from '../dto.ts';
import type { JobRecord } from './queue.ts';

export function jobToDto(job: JobRecord): JobDto {
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    progress: job.progress,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    cancelRequested: job.cancelRequested,
    inputs: job.inputs,
    request: job.request,
    error: job.state === 'failed' || job.state === 'queued' ? job.error : null,
    result: job.state === 'succeeded' ? job.result : null,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}
