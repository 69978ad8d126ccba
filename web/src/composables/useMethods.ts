// The merge-method registry (GET /api/methods), read once per session.
import { api } from '../api/client.ts';
import type { MergeMethodDto } from '../api/types.ts';
import { useResource, type Resource } from './useResource.ts';

let shared: Resource<readonly MergeMethodDto[]> | null = null;

export function useMethods(): Resource<readonly MergeMethodDto[]> {
  if (!shared) {
    shared = useResource(() => api.methods());
    void shared.reload();
  } else if (shared.error.value) {
    void shared.reload();
  }
  return shared;
}
