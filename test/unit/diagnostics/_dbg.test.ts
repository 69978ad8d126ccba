import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { scanModuleIntruders } from '../../../src/diagnostics/intruder-scan.ts';
import { memoryBasisCache } from '../../../src/diagnostics/base-basis.ts';
import { selectBackend } from '../../../src/compute/select-backend.ts';
const golden = JSON.parse(readFileSync(new URL('../../../fixtures/golden/intruder/golden.json', import.meta.url), 'utf8'));
it('dbg', async () => {
  const { backend } = await selectBackend({ backend: 'wasm' });
  for (const c of golden.cases) {
    const r = await scanModuleIntruders(fromRows(c.W0), fromRows(c.B), fromRows(c.A), c.scale, { k: 10, epsilons: [0.3, 0.5, 0.7], sweep: [], seed: 7, route: 'auto', cache: memoryBasisCache(), baseKey: c.name, backend });
    console.log(c.name, c.W0.length, c.W0[0].length, r.tunedIterations, r.base.basisSize, r.base.complete);
    r.vectors.forEach((v, j) => console.log(j, v.route, (v.maxCosLower - c.maxCos[j]).toExponential(2), (v.maxCosUpper - c.maxCos[j]).toExponential(2), v.basisSize));
  }
});
