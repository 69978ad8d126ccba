// The merge builder's request as a recipe YAML file (the CLI's `awb merge RECIPE.yaml` schema; the
// API takes the same object as JSON with adapters named by id).
import { Document, isMap, isSeq, type YAMLMap } from 'yaml';
import type { MergeRequestDto } from '../api/types.ts';

export interface RecipeYamlOptions {
  /** Adapter id → display name, written as a comment beside each input. */
  readonly names?: ReadonlyMap<string, string>;
  readonly toolVersion?: string;
}

export function recipeYaml(request: MergeRequestDto, options: RecipeYamlOptions = {}): string {
  const doc = new Document(request);
  doc.commentBefore = [
    ` Adapter Workbench merge recipe${options.toolVersion ? ` (workbench ${options.toolVersion})` : ''}.`,
    ' POST it as JSON to /api/merges, or run `awb merge recipe.yaml -o OUT/` after replacing',
    ' each input\'s `adapter: <id>` by `path: <adapter folder>`.',
  ].join('\n');
  const inputs = doc.get('inputs', true);
  if (isSeq(inputs) && options.names) {
    for (const item of inputs.items) {
      if (!isMap(item)) continue;
      const id = (item as YAMLMap).get('adapter');
      const name = typeof id === 'string' ? options.names.get(id) : undefined;
      if (name) (item as YAMLMap).commentBefore = ` ${name}`;
    }
  }
  return doc.toString({ lineWidth: 0 });
}

/** A file name for the download: "recipe-lego-2-adapters.yaml". */
export function recipeFileName(request: MergeRequestDto): string {
  const method = String(request.method).replace(/[^a-z0-9_-]+/gi, '-');
  return `recipe-${method}-${request.inputs.length}-adapters.yaml`;
}
