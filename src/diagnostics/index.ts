// Public surface of the spectral diagnostics.
export { analyze, runAnalysis, defaultCacheDir, diagnosticsBackendLine, DEFAULT_K, DEFAULT_EPSILON, DEFAULT_SWEEP } from './analyze.ts';
export type { AnalyzeOptions, AnalyzeEvent } from './analyze.ts';
export { scanModuleIntruders } from './intruder-scan.ts';
export type { IntruderScanOptions, ModuleIntruderResult, IntruderVector, EpsilonCount, DecisionRoute } from './intruder-scan.ts';
export { cosineBounds, decide } from './certified-decision.ts';
export { memoryBasisCache, diskBasisCache, fullBasis, partialBasis } from './base-basis.ts';
export type { BasisCache, BaseBasis } from './base-basis.ts';
export { moduleSpectrum, effectiveRank, rankForEnergy } from './module-spectrum.ts';
export { factoredSvd } from './factored-svd.ts';
export { moduleOverlap, principalAngles, unitCosineMatrix, signConflictRate } from './adapter-overlap.ts';
export { projectUnits } from './unit-projection.ts';
export { findBaseTensor, indexBase, checkBaseShape } from './base-weights.ts';
