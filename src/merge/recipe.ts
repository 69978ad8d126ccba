// Recipes: YAML or JSON files that say what to merge and how, validated with zod.
// Parsing only checks the recipe itself; planMerge checks the method and params,
// executeMerge checks the inputs (bases, shapes, modules).
import { z } from 'zod';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { WorkbenchError } from '../errors.ts';
import { DEFAULT_SEED } from '../util/rng.ts';

export const MODULE_POLICIES = ['union', 'intersection'] as const;
export const OUTPUT_FORMATS = ['peft', 'kohya'] as const;
export const OUTPUT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export const EXTRAS_POLICIES = ['carry', 'drop'] as const;

const inputSchema = z.strictObject({
  path: z.string().min(1),
  weight: z.number().finite().default(1),
  /** A display name; defaults to the folder name. */
  name: z.string().min(1).optional(),
});

const overrideSchema = z.strictObject({
  /** Glob over module names: `*` any run of characters (dots included), `?` one character. */
  match: z.string().min(1),
  /** One weight per input, replacing the input weights for matching modules. Later overrides win. */
  weights: z.array(z.number().finite()).min(1),
});

export const recipeSchema = z.strictObject({
  version: z.literal(1).default(1),
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
  inputs: z.array(inputSchema).min(1),
  modules: z
    .strictObject({
      policy: z.enum(MODULE_POLICIES).default('union'),
      include: z.array(z.string().min(1)).default([]),
      exclude: z.array(z.string().min(1)).default([]),
    })
    .default({ policy: 'union', include: [], exclude: [] }),
  overrides: z.array(overrideSchema).default([]),
  output: z
    .strictObject({
      rank: z.number().int().min(1).optional(),
      format: z.enum(OUTPUT_FORMATS).default('peft'),
      dtype: z.enum(OUTPUT_DTYPES).default('F32'),
    })
    .default({ format: 'peft', dtype: 'F32' }),
  seed: z.number().int().min(0).max(0xffffffff).default(DEFAULT_SEED),
  extras: z.enum(EXTRAS_POLICIES).default('carry'),
  /** Merge inputs whose configs name different base models (normally refused). */
  allowBaseMismatch: z.boolean().default(false),
});

/** A validated recipe with every default filled in. */
export type Recipe = z.infer<typeof recipeSchema>;
/** What a user may write (defaults optional). */
export type RecipeInput = z.input<typeof recipeSchema>;

/** Validates a recipe object (already parsed from YAML/JSON) and fills defaults. */
export function validateRecipe(value: unknown, label = 'recipe'): Recipe {
  const parsed = recipeSchema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new WorkbenchError('RECIPE_INVALID', `${label} is not a valid recipe: ${lines.join('; ')}`, {
      details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  const recipe = parsed.data;
  recipe.overrides.forEach((o, i) => {
    if (o.weights.length !== recipe.inputs.length) {
      throw new WorkbenchError(
        'RECIPE_INVALID',
        `${label}: overrides.${i} (match "${o.match}") gives ${o.weights.length} weights for ${recipe.inputs.length} inputs`,
        { details: { override: i, match: o.match, weights: o.weights.length, inputs: recipe.inputs.length } },
      );
    }
  });
  return recipe;
}

/** Parses YAML (a superset of JSON) recipe text. */
export function parseRecipe(text: string, label = 'recipe'): Recipe {
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new WorkbenchError('RECIPE_INVALID', `${label} is not valid YAML/JSON: ${(error as Error).message.split('\n')[0]}`, {
      cause: error,
    });
  }
  return validateRecipe(value, label);
}

/** The recipe as YAML, for the dashboard and for reproducing a merge. */
export function recipeToYaml(recipe: RecipeInput | Recipe): string {
  return stringifyYaml(recipe, { sortMapEntries: false });
}

/** Module-name glob → anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
