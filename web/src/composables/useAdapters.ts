// The adapter list, shared by the Adapters page, the merge builder and the bases page.
import { ref, shallowRef } from 'vue';
import { api } from '../api/client.ts';
import { toApiError, type ApiError } from '../api/api-error.ts';
import type { AdapterSummaryDto } from '../api/types.ts';

const adapters = shallowRef<readonly AdapterSummaryDto[]>([]);
const loaded = ref(false);
const loading = ref(false);
const error = shallowRef<ApiError | null>(null);
let inFlight: Promise<void> | null = null;

async function refresh(): Promise<void> {
  if (inFlight) return inFlight;
  loading.value = true;
  inFlight = (async () => {
    try {
      adapters.value = await api.adapters();
      error.value = null;
      loaded.value = true;
    } catch (e) {
      error.value = toApiError(e);
    } finally {
      loading.value = false;
      inFlight = null;
    }
  })();
  return inFlight;
}

async function remove(id: string): Promise<void> {
  await api.deleteAdapter(id);
  adapters.value = adapters.value.filter((a) => a.id !== id);
}

export function useAdapters() {
  if (!loaded.value && !loading.value) void refresh();
  return { adapters, loaded, loading, error, refresh, remove };
}
