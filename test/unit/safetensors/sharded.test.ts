import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../../src/errors.ts';
import { isSafeShardName, openShardedCheckpoint, openTensorSource, ShardedCheckpoint } from '../../../src/safetensors/sharded.ts';
import { floatTensor, writeSafetensors } from '../../../src/safetensors/writer.ts';
import { codeOf } from '../../helpers/error-code.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';

const root = suiteTempDir('awb-shard-');

async function makeCheckpoint(name: string, weightMap: Record<string, string>, extraIndex: Record<string, unknown> = {}): Promise<string> {
  const folder = join(root, name);
  await mkdir(folder, { recursive: true });
  await writeSafetensors(join(folder, 'model-00001-of-00002.safetensors'), [
    floatTensor('layer.0.weight', 'F32', [2, 2], [1, 2, 3, 4]),
    floatTensor('layer.0.bias', 'BF16', [2], [0.5, -0.5]),
  ], { format: 'pt' });
  await writeSafetensors(join(folder, 'model-00002-of-00002.safetensors'), [floatTensor('layer.1.weight', 'F16', [3], [1, -2, 0.25])], { format: 'pt' });
  await writeFile(join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 30 }, weight_map: weightMap, ...extraIndex }));
  return folder;
}

const GOOD_MAP = {
  'layer.0.weight': 'model-00001-of-00002.safetensors',
  'layer.0.bias': 'model-00001-of-00002.safetensors',
  'layer.1.weight': 'model-00002-of-00002.safetensors',
};

describe('sharded checkpoints', () => {
  it('opens an index and its shards as one lazy source', async () => {
    const folder = await makeCheckpoint('good', GOOD_MAP);
    const source = await openShardedCheckpoint(folder);
    try {
      expect([...source.tensors.keys()]).toEqual(Object.keys(GOOD_MAP));
      expect(source.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
      expect(source.metadata.format).toBe('pt');
      expect(source.metadata.total_size).toBe('30');
      expect([...(await source.readFloat64('layer.0.weight'))]).toEqual([1, 2, 3, 4]);
      expect([...(await source.readFloat32('layer.0.bias'))]).toEqual([0.5, -0.5]);
      expect([...(await source.readFloat32('layer.1.weight'))]).toEqual([1, -2, 0.25]);
      expect((await source.readBytes('layer.1.weight')).byteLength).toBe(6);
      await Promise.all([source.readBytes('layer.0.weight'), source.readBytes('layer.0.bias')]);
      expect(await codeOf(() => source.readBytes('missing'))).toBe('ST_TENSOR_NOT_FOUND');
    } finally {
      await source.close();
    }
    expect(await codeOf(() => source.readBytes('layer.0.weight'))).toBe('IO_ERROR');
  });

  it('openTensorSource accepts a file, an index, or a folder', async () => {
    const folder = await makeCheckpoint('any', GOOD_MAP);
    const viaIndex = await openTensorSource(join(folder, 'model.safetensors.index.json'));
    expect(viaIndex).toBeInstanceOf(ShardedCheckpoint);
    expect(viaIndex.tensors.size).toBe(3);
    await viaIndex.close();
    const viaFolder = await openTensorSource(folder);
    expect(viaFolder.tensors.size).toBe(3);
    await viaFolder.close();
    const single = join(root, 'single');
    await writeSafetensors(join(single, 'model.safetensors'), [floatTensor('w', 'F32', [1], [9])]);
    const viaSingleFolder = await openTensorSource(single);
    expect([...(await viaSingleFolder.readFloat32('w'))]).toEqual([9]);
    await viaSingleFolder.close();
    const viaFile = await openTensorSource(join(single, 'model.safetensors'));
    expect(viaFile.label).toBe(join(single, 'model.safetensors'));
    await viaFile.close();
    await mkdir(join(root, 'empty'), { recursive: true });
    expect(await codeOf(() => openTensorSource(join(root, 'empty')))).toBe('ST_SOURCE_NOT_FOUND');
    expect(await codeOf(() => openTensorSource(join(root, 'nowhere')))).toBe('FILE_NOT_FOUND');
  });

  it('refuses shard names that leave the folder', async () => {
    for (const bad of ['../model.safetensors', 'sub/model.safetensors', '/etc/passwd', '..', 'a\\b.safetensors', 'C:x.safetensors', '', 'model.safetensors.index.json']) {
      expect(isSafeShardName(bad)).toBe(false);
      const folder = await makeCheckpoint(`bad-${Buffer.from(bad).toString('hex')}`, { 'layer.0.weight': bad });
      expect(await codeOf(() => openShardedCheckpoint(folder))).toBe('ST_SHARD_INDEX_INVALID');
    }
    expect(isSafeShardName('model-00001-of-00002.safetensors')).toBe(true);
  });

  it('refuses an index that is malformed, names a missing shard, or misplaces a tensor', async () => {
    const missingShard = await makeCheckpoint('missing-shard', { ...GOOD_MAP, extra: 'model-00003-of-00003.safetensors' });
    expect(await codeOf(() => openShardedCheckpoint(missingShard))).toBe('ST_SHARD_INDEX_INVALID');
    const misplaced = await makeCheckpoint('misplaced', { ...GOOD_MAP, 'layer.1.weight': 'model-00001-of-00002.safetensors' });
    expect(await codeOf(() => openShardedCheckpoint(misplaced))).toBe('ST_SHARD_INDEX_INVALID');
    const noMap = await makeCheckpoint('no-map', GOOD_MAP);
    await writeFile(join(noMap, 'model.safetensors.index.json'), '{"metadata":{}}');
    expect(await codeOf(() => openShardedCheckpoint(noMap))).toBe('ST_SHARD_INDEX_INVALID');
    const duplicate = await makeCheckpoint('duplicate', GOOD_MAP);
    await writeFile(
      join(duplicate, 'model.safetensors.index.json'),
      '{"weight_map":{"layer.0.weight":"model-00001-of-00002.safetensors","layer.0.weight":"model-00002-of-00002.safetensors"}}',
    );
    expect(await codeOf(() => openShardedCheckpoint(duplicate))).toBe('ST_SHARD_INDEX_INVALID');
    const notJson = await makeCheckpoint('not-json', GOOD_MAP);
    await writeFile(join(notJson, 'model.safetensors.index.json'), '{"weight_map":');
    expect(await codeOf(() => openShardedCheckpoint(notJson))).toBe('ST_SHARD_INDEX_INVALID');
    const numberShard = await makeCheckpoint('number-shard', GOOD_MAP);
    await writeFile(join(numberShard, 'model.safetensors.index.json'), '{"weight_map":{"layer.0.weight":3}}');
    expect(await codeOf(() => openShardedCheckpoint(numberShard))).toBe('ST_SHARD_INDEX_INVALID');
  });

  it('passes a malformed shard error through, naming the shard', async () => {
    const folder = await makeCheckpoint('corrupt-shard', GOOD_MAP);
    await writeFile(join(folder, 'model-00002-of-00002.safetensors'), new Uint8Array(4));
    try {
      await openShardedCheckpoint(folder);
      throw new Error('expected a failure');
    } catch (error) {
      expect((error as WorkbenchError).code).toBe('ST_FILE_TOO_SMALL');
      expect((error as WorkbenchError).message).toContain('model-00002-of-00002.safetensors');
    }
  });

  it('refuses to read from a shard that changed size after opening', async () => {
    const folder = await makeCheckpoint('changed', GOOD_MAP);
    const source = await openShardedCheckpoint(folder);
    await writeSafetensors(join(folder, 'model-00002-of-00002.safetensors'), [floatTensor('layer.1.weight', 'F32', [3], [1, 2, 3])]);
    expect(await codeOf(() => source.readBytes('layer.1.weight'))).toBe('IO_ERROR');
    expect([...(await source.readFloat32('layer.0.weight'))]).toEqual([1, 2, 3, 4]);
    await source.close();
  });
});
