import { it } from 'vitest';
import { defineComponent, h, markRaw } from 'vue';
import { mount } from '@vue/test-utils';
import DiagnosticsReportView from './components/DiagnosticsReportView.vue';
import { syntheticReport } from './test-support/synthetic-report.ts';
const Stub = defineComponent({ props: ['option', 'label', 'height'], setup: () => () => h('div') });
it('prof', async () => {
  const big = markRaw(syntheticReport());
  const { Session } = await import('node:inspector/promises');
  const s = new Session(); s.connect();
  await s.post('Profiler.enable'); await s.post('Profiler.start');
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const w = mount(DiagnosticsReportView, { props: { report: big }, global: { stubs: { EChart: Stub } } });
    console.log('mount', (performance.now() - t).toFixed(0));
    w.unmount();
  }
  const { profile } = await s.post('Profiler.stop');
  const self = new Map<string, number>();
  const nodes = profile.nodes; const dt = profile.timeDeltas; const samples = profile.samples;
  const byId = new Map(nodes.map((n: any) => [n.id, n]));
  samples.forEach((id: number, i: number) => { const n: any = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0)); });
  console.log([...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${(v / 1000).toFixed(0)}ms ${k}`).join('\n'));
});
