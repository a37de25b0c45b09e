import { startEngine, startTfjs } from './gpu.js';
import { kernelCases } from './cases-kernels.js';
import { checkCase, timeOurs, timeTfjs } from './case.js';
import { QUICK_TIMING } from './timing.js';
const engine = await startEngine(); const tf = await startTfjs();
const ctx = { engine, backend: engine.backend, tf };
const filter = process.argv[2];
for (const c of kernelCases([256]).filter((c) => c.name.includes(filter))) {
  let t = performance.now(); const lap = (s: string) => { const n = performance.now(); console.log(c.name, s, (n - t).toFixed(0)); t = n; };
  const p = c.prepare(ctx); lap('prepare');
  const r = await checkCase(c, p, ctx); lap('check ' + r.error + ' ' + r.tfjsError);
  const o = await timeOurs(p, ctx, QUICK_TIMING); lap('ours ' + o.ms.toFixed(1) + ' k' + o.batch);
  const f = await timeTfjs(p, tf, QUICK_TIMING); lap('tfjs ' + f.ms.toFixed(1) + ' k' + f.batch);
  p.dispose(); await engine.runtime!.sync(); lap('dispose');
}
process.exit(0);
