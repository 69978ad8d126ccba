// Loading / error / data state of one async read, with stale answers dropped.
import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';
import { toApiError, type ApiError } from '../api/api-error.ts';

export interface Resource<T> {
  readonly data: ShallowRef<T | null>;
  readonly loading: Ref<boolean>;
  readonly error: ShallowRef<ApiError | null>;
  reload(): Promise<void>;
}

export function useResource<T>(loader: () => Promise<T>): Resource<T> {
  const data = shallowRef<T | null>(null);
  const loading = ref(false);
  const error = shallowRef<ApiError | null>(null);
  let generation = 0;
  const reload = async (): Promise<void> => {
    const mine = ++generation;
    loading.value = true;
    error.value = null;
    try {
      const value = await loader();
      if (mine === generation) data.value = value;
    } catch (e) {
      if (mine === generation) error.value = toApiError(e);
    } finally {
      if (mine === generation) loading.value = false;
    }
  };
  return { data, loading, error, reload };
}
