#!/usr/bin/env node
// Builds bench/RESULTS.md: bench/results/goals.md (the goals at a glance), then every area's result
// file, each demoted one heading level and separated by a rule. Run after updating any results file.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = 'bench/results';
const ORDER = ['io', 'adapter', 'compute', 'linalg', 'merge', 'output-sink', 'spectral', 'server'];
const files = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'goals.md').map((f) => f.slice(0, -3));
const rank = (name) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const parts = [readFileSync(join(dir, 'goals.md'), 'utf8').trimEnd()];
for (const name of files) {
  const text = readFileSync(join(dir, `${name}.md`), 'utf8').trimEnd();
  let fenced = false;
  const lines = text.split('\n').map((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && /^#+ /.test(line) ? `#${line}` : line;
  });
  parts.push(lines.join('\n'));
}
writeFileSync('bench/RESULTS.md', `${parts.join('\n\n---\n\n')}\n`);
console.log(`bench/RESULTS.md: goals + ${files.join(', ')}`);
