// Public API of the merge engine (re-exports only).
export { MERGE_METHODS, registerMergeMethod, getMergeMethod, listMergeMethods, describeMergeMethods } from './registry.ts';
export type { MergeMethodName, MergeMethodInfo } from './registry.ts';
export type { MergeMethodDescriptor, ModuleContext, ModuleInput, ModuleResult } from './method-types.ts';
export { resolveParams, schemaToZod } from './param-schema.ts';
export type { ParamSchema, ParamSpec, ParamValues } from './param-schema.ts';
export { parseRecipe, validateRecipe, recipeToYaml, recipeSchema, globToRegExp, MODULE_POLICIES, OUTPUT_FORMATS, OUTPUT_DTYPES, EXTRAS_POLICIES } from './recipe.ts';
export type { Recipe, RecipeInput } from './recipe.ts';
export { planMerge } from './plan-merge.ts';
export type { MergePlan } from './plan-merge.ts';
export { executeMerge, runMerge, normalizeBaseModel, MERGE_BACKEND, REPORT_FILE_NAME } from './execute-merge.ts';
export type { ExecuteMergeOptions } from './execute-merge.ts';
export type { MergeEvent, MergeReport, ModuleReport, InputRetention, InputSummary, ExtraDecision } from './report-types.ts';
export { MERGE_ERROR_CODES } from './error-codes.ts';
