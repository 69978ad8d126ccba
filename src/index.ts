// The library's public API: re-exports only. The CLI, the HTTP API and the
// dashboard call these same functions.
export { WorkbenchError, isWorkbenchError, ERROR_CODES } from './errors.ts';
export type { ErrorCode, WorkbenchErrorOptions } from './errors.ts';
export { TOOL_NAME, TOOL_VERSION } from './version.ts';
export type { DType, FloatDType } from './dtype.ts';
export type { Mat } from './tensor/matrix.ts';
export { mat, zeros, fromRows, toRows, transpose, matmul, frobeniusNorm } from './tensor/matrix.ts';

// safetensors
export { openSafetensors, parseSafetensors } from './safetensors/reader.ts';
export type { TensorSource } from './safetensors/reader.ts';
export { writeSafetensors, serializeSafetensors, floatTensor } from './safetensors/writer.ts';
export type { TensorToWrite } from './safetensors/writer.ts';
export { openShardedCheckpoint, openTensorSource } from './safetensors/sharded.ts';
export type { TensorInfo } from './safetensors/header.ts';

// adapters
export { loadAdapter, loadAdapterFromFiles } from './adapter/load-adapter.ts';
export type { LoadAdapterOptions } from './adapter/load-adapter.ts';
export { inspectAdapter, INSPECT_SCHEMA_VERSION } from './adapter/inspect-adapter.ts';
export type { InspectReport, InspectModule } from './adapter/inspect-adapter.ts';
export { writePeftAdapter } from './adapter/export-peft.ts';
export { writeKohyaAdapter } from './adapter/export-kohya.ts';
export { inMemoryAdapter } from './adapter/in-memory-adapter.ts';
export type * from './adapter/types.ts';

// compute and linear algebra
export { selectBackend } from './compute/select-backend.ts';
export { defaultBackend } from './compute/default-backend.ts';
export { describeBackend } from './compute/describe-backend.ts';
export type { Backend } from './compute/backend.ts';
export { createDenseOperator } from './compute/dense-operator.ts';
export { lowRankOperator } from './compute/low-rank-operator.ts';
export { sumOperator } from './compute/sum-operator.ts';
export type { LinearOperator } from './linalg/operator.ts';
export { qrThin } from './linalg/qr.ts';
export { svdSmall } from './linalg/svd-small.ts';
export type { Svd } from './linalg/svd-small.ts';
export { eighSymmetric } from './linalg/eigh.ts';
export { lowRankSvd } from './linalg/low-rank-svd.ts';
export { truncateSvd } from './linalg/truncate.ts';
export { randomizedSvd, topSingularTriplets } from './linalg/randomized-svd.ts';
export { kmeans, kmeansSteps } from './linalg/kmeans.ts';

// rank-one units, merges, diagnostics, reports
export * from './units/index.ts';
export * from './merge/index.ts';
export * from './diagnostics/index.ts';
export * from './report/index.ts';
