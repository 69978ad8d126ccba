// Include/exclude patterns for module names, with the recipe's semantics (src/merge/recipe.ts):
// an anchored glob over the whole name, `*` any run of characters (dots included), `?` one character.
// So "q_proj" alone matches nothing in a real model; "*q_proj" or "*.layers.1?.*" do.

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export function matchesPattern(name: string, pattern: string): boolean {
  const p = pattern.trim();
  return p !== '' && globToRegExp(p).test(name);
}

/** Kept when it matches some include (or there are none) and no exclude. */
export function selectModule(name: string, include: readonly string[], exclude: readonly string[]): boolean {
  const inc = include.filter((p) => p.trim() !== '');
  const exc = exclude.filter((p) => p.trim() !== '');
  if (inc.length > 0 && !inc.some((p) => matchesPattern(name, p))) return false;
  return !exc.some((p) => matchesPattern(name, p));
}

/** "*q_proj, *v_proj\n*mlp*" → ["*q_proj", "*v_proj", "*mlp*"]. */
export function parsePatternList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}
