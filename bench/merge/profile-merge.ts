// Profiling helper: builds the bench workload (4 rank-16 Llama-layout inputs, 1 layer) once in
// a folder and runs one method there, so `node --cpu-prof bin/run-ts.js` can see where time goes.
// usage: node bin/run-ts.js bench/merge/profile-merge.ts DIR make|cat|svd16|lego16|ties16 [F32]
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { floatTensor, writeSafetensors } from '../../src/safetensors/writer.ts';
import { createRng } from '../../src/util/rng.ts';
import { planMerge, runMerge, type RecipeInput } from '../../src/merge/index.ts';
import type { FloatDType } from '../../src/dtype.ts';
import { LLAMA_MODULES as MODULES } from './llama-layout.ts';

const [dir, job, dt] = process.argv.slice(2) as [string, string, string | undefined];
const dtype = (dt ?? 'F32') as FloatDType;
if (job === 'make') {
  for (let t = 0; t < 4; t++) {
    const rng = createRng(1000 * t + 17);
    const tensors = [];
    for (const [mod, m, n] of MODULES) {
      const prefix = `base_model.model.model.layers.0.${mod}`;
      const A = new Float32Array(16 * n).map(() => rng.normal() * 0.01);
      const B = new Float32Array(m * 16).map(() => rng.normal() * 0.01);
      tensors.push(floatTensor(`${prefix}.lora_A.weight`, dtype, [16, n], A), floatTensor(`${prefix}.lora_B.weight`, dtype, [m, 16], B));
    }
    const folder = join(dir, `in${t}`);
    await mkdir(folder, { recursive: true });
    await writeSafetensors(join(folder, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    await writeFile(join(folder, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 16, lora_alpha: 32, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }));
  }
} else {
  const jobs: Record<string, [string, Record<string, unknown>, string[]]> = {
    cat: ['cat', {}, ['*']],
    svd16: ['svd', { rank: 16 }, ['*']],
    lego16: ['lego', { k: 16 }, ['*']],
    ties16: ['ties', { density: 0.2, rank: 16 }, ['*.q_proj', '*.down_proj']],
    tiesq: ['ties', { density: 0.2, rank: 16 }, ['*.q_proj']],
  };
  const [method, params, include] = jobs[job]!;
  const recipe = { method, params, inputs: [0, 1, 2, 3].map((t) => ({ path: join(dir, `in${t}`) })), modules: { include }, output: { dtype } } as RecipeInput;
  const out = join(dir, `out-${job}`);
  await rm(out, { recursive: true, force: true });
  const t0 = performance.now();
  const report = await runMerge(planMerge(recipe), { outDir: out });
  const cpu = process.cpuUsage();
  console.log(JSON.stringify({ job, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, rssMB: process.resourceUsage().maxRSS / 1024, err: report.summary.meanRelativeErrorVsExact }));
}
