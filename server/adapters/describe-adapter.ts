// Loads, validates and describes an adapter from named files: the library
// loader checks every factor, the inspector adds norms. Runs in a worker
// thread (`describeAdapterTask`) for the API, so a large upload's validation
// never holds the HTTP event loop.
import type { TaskContext } from '../../src/compute/worker-protocol.ts';
import { throwIfAborted } from '../../src/errors.ts';
import type { AdapterDetailDto } from '../dto.ts';
import { inspectAdapter, loadAdapterFiles } from '../engine.ts';
import { adapterToDetail } from './to-dto.ts';
import type { AdapterRecordInput } from './to-dto.ts';

export interface DescribeArgs {
  readonly files: readonly { name: string; path: string }[];
  readonly record: Omit<AdapterRecordInput, 'inspect'>;
}

export async function describeAdapter(args: DescribeArgs, signal?: AbortSignal): Promise<AdapterDetailDto> {
  const adapter = await loadAdapterFiles(args.files, { name: args.record.name });
  try {
    throwIfAborted(signal, 'adapter validation');
    const inspect = await inspectAdapter(adapter, signal);
    return adapterToDetail(adapter, { ...args.record, inspect });
  } finally {
    await adapter.close();
  }
}

/** Worker-pool task form. */
export function describeAdapterTask(args: DescribeArgs, ctx: TaskContext): Promise<AdapterDetailDto> {
  return describeAdapter(args, ctx.signal);
}
