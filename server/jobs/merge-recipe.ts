// A merge request on the wire is the CLI recipe with `inputs[].adapter` (a
// server id) in place of `inputs[].path`. This turns one into the other.
import type { Recipe, RecipeInput } from '../../src/merge/recipe.ts';
import { planMerge } from '../../src/merge/plan-merge.ts';

/** Builds the CLI recipe; `pathOf` maps an adapter id to its object folder. */
export function requestToRecipe(request: Record<string, unknown>, pathOf: (adapterId: string) => string): RecipeInput {
  const { inputs, base: _base, ...rest } = request as { inputs: { adapter: string; [k: string]: unknown }[]; base?: unknown };
  void _base;
  return {
    ...(rest as Omit<RecipeInput, 'inputs'>),
    inputs: inputs.map(({ adapter, ...fields }) => ({ ...(fields as { weight?: number; name?: string }), path: pathOf(adapter) })),
  };
}

/** Validates the request as a recipe and plans it (no file access): recipe, method and params errors surface here. */
export function checkMergeRequest(request: Record<string, unknown>): Recipe {
  return planMerge(requestToRecipe(request, (id) => `adapter:${id}`)).recipe;
}
