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
