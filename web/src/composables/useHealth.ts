// The server's health (compute backend, version, queue), shared by the header and pages.
import { shallowRef } from 'vue';
import { api } from '../api/client.ts';
import { toApiError, type ApiError } from '../api/api-error.ts';
import type { HealthDto } from '../api/types.ts';

const health = shallowRef<HealthDto | null>(null);
const error = shallowRef<ApiError | null>(null);
let timer: ReturnType<typeof setInterval> | undefined;
let users = 0;

async function refresh(): Promise<void> {
  try {
    health.value = await api.health();
    error.value = null;
  } catch (e) {
    error.value = toApiError(e);
  }
}

export function useHealth(pollMs = 30_000) {
  const start = (): void => {
    users += 1;
    if (users === 1) {
      void refresh();
      timer = setInterval(() => void refresh(), pollMs);
    }
  };
  const stop = (): void => {
    users = Math.max(0, users - 1);
    if (users === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return { health, error, refresh, start, stop };
}
