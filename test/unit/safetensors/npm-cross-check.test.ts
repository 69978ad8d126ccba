// The `safetensors` npm package (0.0.1) as an independent reader of our writer's output.
import { describe, expect, it } from 'vitest';
import { SafeTensor } from 'safetensors';
import { floatTensor, serializeSafetensors } from '../../../src/safetensors/writer.ts';
import { parseSafetensors } from '../../../src/safetensors/reader.ts';

describe('the safetensors npm package reads our writer output identically', () => {
  it('sees the same names, dtypes, shapes and bytes for every tensor', async () => {
    const tensors = [
      floatTensor('base_model.model.lin.lora_A.weight', 'F32', [2, 3], [1, 2, 3, 4, 5, 6]),
      floatTensor('base_model.model.lin.lora_B.weight', 'F32', [4, 2], [0.5, -1, 2, 3, 4, 5, 6, 7]),
      floatTensor('h', 'F16', [3], [0.1, 65504, -2]),
      floatTensor('b', 'BF16', [1, 3], [1e-3, 3.14, -0]),
      floatTensor('d', 'F64', [2], [Math.PI, -Math.E]),
    ];
    // The npm reader needs a buffer that starts at byte 0 of its ArrayBuffer and breaks on
    // __metadata__ (it maps data_offsets of every key), so no metadata here.
    const bytes = serializeSafetensors(tensors);
    const theirs = new SafeTensor(new Uint8Array(bytes));
    const ours = parseSafetensors(bytes, 'ours');
    expect([...theirs.metadata.keys()].sort()).toEqual([...ours.tensors.keys()].sort());
    for (const [name, info] of ours.tensors) {
      const entry = theirs.metadata.get(name)!;
      expect(entry.dtype).toBe(info.dtype);
      expect(entry.shape).toEqual(info.shape);
      expect(Buffer.from(theirs.getTensor(name)).equals(Buffer.from(await ours.readBytes(name)))).toBe(true);
    }
  });

  it('cannot open a file with __metadata__ (a limitation of the package, recorded in the decision)', () => {
    const bytes = serializeSafetensors([floatTensor('w', 'F32', [1], [1])], { format: 'pt' });
    expect(() => new SafeTensor(bytes)).toThrow(TypeError);
    expect(parseSafetensors(bytes).metadata.format).toBe('pt');
  });
});
