export type { MsuFeature, MsuId, MsuPool } from './msu.ts';
export { MSU_FEATURES, msuIdString } from './msu.ts';
export { canonicalizeUnit, normalizeParts } from './canonicalize-unit.ts';
export { decomposeModule, type UnitSource, type DecomposeOptions } from './decompose-module.ts';
export { unitGauges, unitEntry, type UnitGauge, type UnitGaugeOptions } from './unit-gauges.ts';
