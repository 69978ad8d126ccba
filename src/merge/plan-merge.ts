// planMerge: a validated recipe → an immutable MergePlan with resolved params,
// canonical JSON and its sha256 (the identity of the merge).
import { WorkbenchError } from '../errors.ts';
import { canonicalJson, sha256Bytes } from '../util/hash.ts';
import type { ParamValues } from './param-schema.ts';
import { resolveParams } from './param-schema.ts';
import { getMergeMethod } from './registry.ts';
import { validateRecipe, type Recipe, type RecipeInput } from './recipe.ts';
import type { MergeMethodDescriptor } from './method-types.ts';

export interface MergePlan {
  readonly recipe: Recipe;
  readonly method: MergeMethodDescriptor;
  /** Method params with defaults filled and output.rank applied. */
  readonly params: ParamValues;
  /** Canonical JSON of { recipe, params }: sorted keys, defaults explicit. */
  readonly canonicalJson: string;
  readonly sha256: string;
}

/** Which param carries the output rank for each method, if any. */
function rankParam(method: MergeMethodDescriptor): string | undefined {
  if ('rank' in method.params) return 'rank';
  if ('k' in method.params) return 'k';
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function planMerge(recipeInput: Recipe | RecipeInput): MergePlan {
  const recipe = validateRecipe(structuredClone(recipeInput));
  const method = getMergeMethod(recipe.method);
  const given: Record<string, unknown> = { ...recipe.params };
  if (recipe.output.rank !== undefined) {
    const key = rankParam(method);
    if (!key) {
      throw new WorkbenchError(
        'MERGE_PARAM_INVALID',
        `method "${method.name}" has no output rank (its rank is fixed by the inputs); drop output.rank or use "linear" with a rank`,
        { details: { method: method.name, rank: recipe.output.rank } },
      );
    }
    if (given[key] !== undefined && given[key] !== null && given[key] !== recipe.output.rank) {
      throw new WorkbenchError('MERGE_PARAM_INVALID', `output.rank ${recipe.output.rank} contradicts params.${key} ${String(given[key])}`, {
        details: { method: method.name, rank: recipe.output.rank, [key]: given[key] },
      });
    }
    given[key] = recipe.output.rank;
  }
  const params = resolveParams(method.name, method.params, given);
  const json = canonicalJson({ recipe, params });
  return deepFreeze({ recipe, method, params, canonicalJson: json, sha256: sha256Bytes(json) });
}
