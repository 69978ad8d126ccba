// writeKohyaAdapter: one kohya-ss LoRA .safetensors file (`<name>.lora_down.weight`,
// `.lora_up.weight`, `.alpha`), written atomically. kohya-named modules keep their names;
// others become `lora_unet_…` (names starting with "unet."), `lora_te_…` / `lora_te2_…`
// (text encoders), or `lora_<path with . → _>`.
import { rename, rm, stat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WorkbenchError, fromFsError, throwIfAborted } from '../errors.ts';
import { DTYPE_BYTES, encodeFloats } from '../dtype.ts';
import { sha256File } from '../util/hash.ts';
import { fsyncDir, tempPathFor } from '../util/atomic-write.ts';
import { checkExportDType, encode, storedShapes, StreamingSafetensorsWriter, validateExportModule, type ExportWriteOptions } from './export-tensors.ts';
import type { WrittenAdapter } from './types.ts';

export type WriteKohyaOptions = ExportWriteOptions;

export function kohyaModuleName(name: string): string {
  if (/^lora_/.test(name) && !name.includes('.')) return name;
  const underscored = (s: string): string => s.replace(/\./g, '_');
  if (name.startsWith('unet.')) return `lora_unet_${underscored(name.slice(5))}`;
  if (name.startsWith('text_encoder_2.')) return `lora_te2_${underscored(name.slice(15))}`;
  if (name.startsWith('text_encoder.')) return `lora_te_${underscored(name.slice(13))}`;
  return `lora_${underscored(name)}`;
}

export async function writeKohyaAdapter(outFile: string, options: WriteKohyaOptions): Promise<WrittenAdapter> {
  const dtype = checkExportDType(options.dtype ?? 'F32');
  if (!(options.overwrite ?? false)) {
    const exists = await stat(outFile).then(() => true, () => false);
    if (exists) {
      throw new WorkbenchError('ADAPTER_OUTPUT_EXISTS', `${outFile} already exists; choose another file or allow overwriting`, {
        details: { path: outFile },
      });
    }
  }
  await mkdir(dirname(outFile), { recursive: true }).catch((error: unknown) => {
    throw fromFsError(error, dirname(outFile), 'create folder');
  });
  const temp = tempPathFor(outFile);
  const writer = await StreamingSafetensorsWriter.create(temp, { reserveHeaderBytes: options.reserveHeaderBytes });
  let moduleCount = 0;
  const names = new Set<string>();
  try {
    // Alignment as in writePeftAdapter: wide extras, the factors, then narrow extras.
    const extras = [...(options.extras ?? [])].sort((a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] || (a.key < b.key ? -1 : 1));
    for (const extra of extras.filter((e) => DTYPE_BYTES[e.dtype] >= DTYPE_BYTES[dtype])) {
      await writer.add(extra.key, extra.dtype, extra.shape, await extra.readBytes());
    }
    for await (const module of options.modules) {
      throwIfAborted(options.signal, 'export');
      validateExportModule(module, options.allowNonFinite ?? false);
      if (module.doraMagnitude) {
        throw new WorkbenchError('INVALID_ARGUMENT', `export: module "${module.name}" is DoRA; the kohya format cannot carry its magnitude vector (convert it to plain LoRA first, or export PEFT)`, {
          details: { module: module.name },
        });
      }
      const name = kohyaModuleName(module.name);
      if (names.has(name)) {
        throw new WorkbenchError('ADAPTER_DUPLICATE_MODULE', `export: modules map to the same kohya name "${name}"`, { details: { module: module.name, kohyaName: name } });
      }
      names.add(name);
      const { shapeA, shapeB } = storedShapes(module);
      await writer.add(`${name}.lora_down.weight`, dtype, shapeA, encode(dtype, module.A.data));
      await writer.add(`${name}.lora_up.weight`, dtype, shapeB, encode(dtype, module.B.data));
      // alpha in the factors' dtype (as kohya writes it), which also keeps every tensor aligned.
      await writer.add(`${name}.alpha`, dtype, [], encodeFloats(dtype, [module.scale * module.A.rows]));
      moduleCount++;
    }
    for (const extra of extras.filter((e) => DTYPE_BYTES[e.dtype] < DTYPE_BYTES[dtype])) {
      await writer.add(extra.key, extra.dtype, extra.shape, await extra.readBytes());
    }
    if (moduleCount === 0) {
      throw new WorkbenchError('ADAPTER_EMPTY', `export to ${outFile}: no modules to write`, { details: { path: outFile } });
    }
    await writer.finish({ format: 'pt', ...(options.metadata ?? {}) });
    await rename(temp, outFile);
    await fsyncDir(dirname(outFile));
  } catch (error) {
    await writer.abort();
    await rm(temp, { force: true });
    if (error instanceof WorkbenchError) throw error;
    throw fromFsError(error, outFile, 'write');
  }
  const sizeBytes = (await stat(outFile)).size;
  return {
    path: outFile,
    files: [{ name: outFile.split('/').pop()!, path: outFile, sizeBytes, sha256: await sha256File(outFile) }],
    moduleCount,
    tensorCount: writer.tensorCount,
    config: undefined,
  };
}
