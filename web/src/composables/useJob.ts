// One job followed live: state, progress, log, result, with reconnects (api/live.ts).
import { computed, onBeforeUnmount, ref, shallowRef, watch, type Ref } from 'vue';
import { api } from '../api/client.ts';
import { toApiError, type ApiError } from '../api/api-error.ts';
import { followJob, isTerminal, type LiveConnection, type LiveOptions, type LiveSubscription } from '../api/live.ts';
import type { JobDto, JobEventDto, JobProgressDto, JobResultDto, JobState, ProblemDto } from '../api/types.ts';
import { etaSeconds, type ProgressSample } from '../utils/eta.ts';

export interface LogLine {
  readonly seq: number;
  readonly at: string;
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

/** Keeps the log bounded in memory (the server keeps the full one). */
const MAX_LOG_LINES = 2_000;

export function useJob(jobId: Ref<string>, liveOptions: LiveOptions = {}) {
  const job = shallowRef<JobDto | null>(null);
  const state = ref<JobState | null>(null);
  const progress = shallowRef<JobProgressDto | null>(null);
  const result = shallowRef<JobResultDto | null>(null);
  const failure = shallowRef<ProblemDto | null>(null);
  const log = ref<LogLine[]>([]);
  const connection = ref<LiveConnection>('connecting');
  const reconnectAttempt = ref(0);
  const loadError = shallowRef<ApiError | null>(null);
  const cancelError = shallowRef<ApiError | null>(null);
  const cancelling = ref(false);
  const now = ref(Date.now());
  const samples: ProgressSample[] = [];
  let subscription: LiveSubscription | null = null;
  const ticker = setInterval(() => (now.value = Date.now()), 1000);

  const pushLog = (line: LogLine): void => {
    log.value.push(line);
    if (log.value.length > MAX_LOG_LINES) log.value.splice(0, log.value.length - MAX_LOG_LINES);
  };
  const record = (p: JobProgressDto): void => {
    progress.value = p;
    samples.push({ phase: p.phase, step: p.step, of: p.of, atMs: Date.now() });
    if (samples.length > 500) samples.splice(0, samples.length - 500);
  };

  const onEvent = (event: JobEventDto): void => {
    switch (event.type) {
      case 'state':
        state.value = event.state;
        break;
      case 'progress':
        record(event.progress);
        break;
      case 'log':
        pushLog({ seq: event.seq, at: event.at, level: event.level, message: event.message });
        break;
      case 'result':
        result.value = event.result;
        state.value = 'succeeded';
        break;
      case 'error':
        failure.value = event.error;
        if (state.value !== 'cancelled') state.value = event.error.code === 'ABORTED' ? 'cancelled' : 'failed';
        break;
    }
  };
  const onSnapshot = (snapshot: JobDto): void => {
    job.value = snapshot;
    state.value = snapshot.state;
    if (snapshot.progress) record(snapshot.progress);
    if (snapshot.result) result.value = snapshot.result;
    if (snapshot.error) failure.value = snapshot.error;
    loadError.value = null;
  };

  const start = (id: string): void => {
    subscription?.close();
    job.value = null;
    state.value = null;
    progress.value = null;
    result.value = null;
    failure.value = null;
    log.value = [];
    samples.length = 0;
    subscription = followJob(
      id,
      {
        onEvent,
        onSnapshot,
        onConnection: (c, attempt) => {
          connection.value = c;
          reconnectAttempt.value = attempt;
        },
        onError: (e) => {
          if (e.code === 'REQUEST_ABORTED') return;
          if (!job.value) loadError.value = e;
        },
      },
      liveOptions,
    );
  };
  watch(jobId, start, { immediate: true });

  const startedMs = computed(() => (job.value?.startedAt ? Date.parse(job.value.startedAt) : job.value ? Date.parse(job.value.createdAt) : null));
  const finishedMs = computed(() => (job.value?.finishedAt ? Date.parse(job.value.finishedAt) : null));
  const elapsedSeconds = computed(() => {
    if (startedMs.value === null) return null;
    const end = state.value && isTerminal(state.value) ? (finishedMs.value ?? now.value) : now.value;
    return Math.max(0, (end - startedMs.value) / 1000);
  });
  const eta = computed(() => {
    void now.value;
    return state.value === 'running' ? etaSeconds(samples, now.value) : null;
  });
  const fraction = computed(() => {
    if (state.value === 'succeeded') return 1;
    const p = progress.value;
    return p && p.of > 0 ? Math.min(1, p.step / p.of) : 0;
  });
  const finished = computed(() => state.value !== null && isTerminal(state.value));

  async function cancel(): Promise<void> {
    cancelling.value = true;
    cancelError.value = null;
    try {
      onSnapshot(await api.cancelJob(jobId.value));
    } catch (e) {
      cancelError.value = toApiError(e);
    } finally {
      cancelling.value = false;
    }
  }

  const stop = (): void => {
    subscription?.close();
    clearInterval(ticker);
  };
  onBeforeUnmount(stop);

  return {
    job,
    state,
    progress,
    result,
    failure,
    log,
    connection,
    reconnectAttempt,
    loadError,
    cancelError,
    cancelling,
    elapsedSeconds,
    eta,
    fraction,
    finished,
    cancel,
    stop,
  };
}
