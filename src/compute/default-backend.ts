// The process-wide backend, selected once (per thread) from AWB_BACKEND or the
// automatic order. Library entry points take a Backend argument; callers with
// no opinion pass `await defaultBackend()`.
import type { Backend } from './backend.ts';
import { selectBackend } from './select-backend.ts';

let selected: Promise<Backend> | undefined;

export function defaultBackend(): Promise<Backend> {
  if (selected === undefined) {
    const attempt = selectBackend().then((selection) => selection.backend);
    // A failed selection (bad AWB_BACKEND) is not cached, so a corrected environment can retry.
    attempt.catch(() => {
      if (selected === attempt) selected = undefined;
    });
    selected = attempt;
  }
  return selected;
}
