// Types for the `safetensors` npm package (0.0.1), which ships none. Used only as an
// independent reader in tests: see docs/decisions/safetensors.md.
declare module 'safetensors' {
  export class SafeTensor {
    constructor(buffer: Uint8Array);
    readonly metadata: Map<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    getTensor(name: string): Uint8Array;
  }
}
