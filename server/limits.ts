// The server's named limits, each with the attack or failure it stops.

/** Largest upload (all files together). Real LoRA adapters are KB to a few hundred MB. CWE-400. */
export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;
/** Files in one upload: a PEFT folder is 2 files, plus README/tokenizer leftovers we skip. CWE-770. */
export const MAX_UPLOAD_FILES = 16;
/** Multipart parts (files + fields). Stops part-count floods (multer CVE-2025-47935 shape). */
export const MAX_UPLOAD_PARTS = 24;
/** Non-file fields and their size: only `name` is read. */
export const MAX_UPLOAD_FIELDS = 4;
export const MAX_UPLOAD_FIELD_BYTES = 4096;
/** Header pairs per part (busboy default is 2000). */
export const MAX_UPLOAD_HEADER_PAIRS = 100;
/** Largest adapter_config.json accepted inside an upload. */
export const MAX_UPLOAD_CONFIG_BYTES = 1024 * 1024;
/** Uploads processed at once; past it, 503 with Retry-After. */
export const MAX_CONCURRENT_UPLOADS = 4;
/** Free space kept back when accepting an upload (507 below it). */
export const DISK_RESERVE_BYTES = 64 * 1024 * 1024;
/** JSON request bodies (recipes, analysis requests). */
export const MAX_JSON_BODY = '256kb';
/** Display labels (sanitised file names, adapter names). */
export const MAX_LABEL_CHARS = 120;
/** SSE heartbeat comment interval. */
export const SSE_HEARTBEAT_MS = 15_000;
/** Jobs listed by GET /api/jobs. */
export const MAX_JOBS_LISTED = 200;
/** Nice value of job worker threads (Linux): under CPU contention the HTTP loop is scheduled first. */
export const JOB_THREAD_NICE = 10;
