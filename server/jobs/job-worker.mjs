// Worker-thread bootstrap: lets the thread load TypeScript through tsx, then
// runs the real entry. (Workers do not inherit the parent's loader hooks.)
import { register } from 'tsx/esm/api';

register();
await import('./job-worker.ts');
