// Worker-thread entry point of the compute pool. Workers start as plain
// JavaScript, so this registers tsx (TypeScript on the fly) in the worker
// before importing the TypeScript entry named in workerData.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
