// Remaining time of a job from its progress samples: the rate over the current phase so far.

export interface ProgressSample {
  readonly phase: string;
  readonly step: number;
  readonly of: number;
  /** ms since epoch when the sample arrived. */
  readonly atMs: number;
}

/** Seconds left in the current phase, or null when there is no rate yet. */
export function etaSeconds(samples: readonly ProgressSample[], nowMs: number): number | null {
  const last = samples.at(-1);
  if (!last || last.of <= 0) return null;
  if (last.step >= last.of) return 0;
  let first = last;
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i]!;
    if (s.phase !== last.phase) break;
    first = s;
  }
  const done = last.step - first.step;
  const elapsedMs = Math.max(last.atMs, nowMs) - first.atMs;
  if (done <= 0 || elapsedMs <= 0) return null;
  const msPerStep = elapsedMs / done;
  return ((last.of - last.step) * msPerStep) / 1000;
}
