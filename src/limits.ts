// Every numeric safety limit lives here, with the attack or failure it stops.

/** Largest safetensors JSON header we parse (the reference uses 100 MB). CWE-770: allocation without limits. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Most tensors one file may declare. A 70B checkpoint shard has ~1k; this stops header bombs. CWE-770. */
export const MAX_TENSOR_COUNT = 1_000_000;

/** Most dimensions one tensor may have. Real tensors have ≤ 5; CWE-1284 improper quantity validation. */
export const MAX_TENSOR_RANK = 8;

/** Deepest JSON nesting the header tokenizer follows. The format needs 3; CWE-674 uncontrolled recursion. */
export const MAX_HEADER_JSON_DEPTH = 16;

/** Most shards a sharded checkpoint index may name. CWE-770. */
export const MAX_SHARD_COUNT = 10_000;

/** Largest LoRA rank we accept for one module; above this a "LoRA" is a full fine-tune in disguise. */
export const MAX_LORA_RANK = 65_536;

/** Largest adapter_config.json we read. Real ones are < 10 KB. CWE-770. */
export const MAX_CONFIG_BYTES = 10_000_000;

/** Largest safetensors dim; real dims are < 2^20 (gguf/hub MAX_TENSOR_DIM). CWE-1284. */
export const MAX_TENSOR_DIM = 2 ** 32;

/** Largest model.safetensors.index.json we read; a 10k-shard index is a few MB. CWE-770. */
export const MAX_SHARD_INDEX_BYTES = 64_000_000;

/** Longest a compute-backend probe may take (WebGPU requestAdapter, tfjs backend init) before it counts as unavailable; a driver that never answers must not hang start-up. */
export const BACKEND_PROBE_TIMEOUT_MS = 5_000;

/** How long a cancelled worker-pool task may take to notice its AbortSignal before its worker thread is terminated (a task stuck in a kernel must not hold a core forever). */
export const WORKER_ABORT_GRACE_MS = 2_000;

/** Most entries of ΔW the sign-conflict rate visits exactly; above it a seeded row sample is used (cost O(entries·r)). */
export const SIGN_CONFLICT_MAX_ENTRIES = 4_000_000;

/** Most modules whose MSU projection and similarity matrices a diagnostics report keeps (report size). */
export const REPORT_MAX_DETAILED_MODULES = 256;

/** Longest rank_pattern / alpha_pattern / target_modules regex we compile from an adapter_config.json. CWE-1333 (ReDoS). */
export const MAX_CONFIG_PATTERN_CHARS = 512;

/** Most unbounded quantifiers (*, +, {n,}) in one config regex; each one multiplies the worst-case backtracking by the name length. CWE-1333. */
export const MAX_CONFIG_PATTERN_QUANTIFIERS = 2;

/** Longest module path a config regex is run against; real paths are < 200 characters. Longer ones only match literally. CWE-1333. */
export const MAX_PATTERN_SUBJECT_CHARS = 512;
