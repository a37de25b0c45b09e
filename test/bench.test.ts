// Smoke test of the benchmark (bench/): every kernel case at tiny shapes passes its check against the CPU
// reference on both engines (this catches layout slips in the TensorFlow.js side as well as ours), the timing
// helper runs, and the m5-compact model's check (our GPU vs the CPU reference vs tfjs, and one Adam step)
// passes; the benchmark's tfjs twin implements the M5 design.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCase, runCase, type BenchContext } from '../bench/case.js';
import { kernelCases } from '../bench/cases-kernels.js';
import { ModelBench, modelCases, torchModelCase } from '../bench/cases-model.js';
import { gemmTorchCase, runTorch, torchPython } from '../bench/torch.js';
import { titleNeeding } from './skip.js';
import { startEngine, startTfjs } from '../bench/gpu.js';
import { parseOptions } from '../bench/options.js';
import { benchJson, tableRow } from '../bench/report.js';
import { median, type TimingOptions } from '../bench/timing.js';

const TINY: TimingOptions = { warmup: 1, repeats: 1, minSampleMs: 0, budgetMs: 1000 };

let ctx: BenchContext;

beforeAll(async () => {
  const engine = await startEngine();
  ctx = { engine, backend: engine.backend, tf: await startTfjs() };
});

afterAll(async () => {
  await ctx?.engine.runtime?.sync();
});

describe('bench kernel cases (tiny shapes)', () => {
  const cases = kernelCases([32], 0.01);
  it('covers every kernel family, forward and backward', () => {
    const names = cases.map((c) => c.name.split(' ')[0]);
    for (const n of ['conv1d.fwd', 'conv1d.bwdInput', 'conv1d.bwdWeight', 'maxPool1d.fwd', 'maxPool1d.bwd', 'batchNorm+relu.fwd', 'batchNorm+relu.bwd', 'gemm.fwd', 'gemm.bwdA', 'gemm.bwdB', 'linear.fwd', 'linear.bwdInput', 'linear.bwdWeight']) {
      expect(names).toContain(n);
    }
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s matches the reference on both engines', async (_, c) => {
    const p = c.prepare(ctx);
    try {
      const { error, tfjsError } = await checkCase(c, p, ctx);
      expect(error).toBeLessThanOrEqual(c.tol ?? 1e-3);
      expect(tfjsError).toBeLessThanOrEqual(c.tol ?? 1e-3);
    } finally {
      p.dispose();
    }
  });

  it('times a case and reports it', async () => {
    const r = await runCase(kernelCases([32], 0.01).find((c) => c.name.startsWith('gemm.fwd'))!, ctx, TINY);
    expect(r.ms).toBeGreaterThan(0);
    expect(r.tfjsMs).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(r.tfjsMs! / r.ms, 6);
    expect(r.gflops).toBeGreaterThan(0);
    expect(tableRow(r)).toContain('GFLOP/s');
    const json = benchJson(ctx.engine.adapter, [r, { name: 'broken', failed: 'x' }], 'test', []);
    expect(json.results[0]).toMatchObject({ name: r.name, tfjsMs: expect.any(Number), ratio: expect.any(Number) });
    expect(json.results[1]).toMatchObject({ name: 'broken', ms: null, failed: 'x' });
  });
});

describe('bench model cases', () => {
  it('checks the m5-compact model (GPU vs CPU reference vs tfjs, one Adam step) and times inference', async () => {
    const bench = await ModelBench.create(ctx, 'm5-compact');
    try {
      const infer = modelCases(['m5-compact']).find((c) => c.mode === 'infer')!;
      const r = await bench.run(infer, { ...TINY, warmup: 0 });
      expect(r.extra?.utterancesPerSecond).toBeGreaterThan(0);
      expect(r.extra?.tfjsUtterancesPerSecond).toBeGreaterThan(0);
      // The host's share: the exact dispatches of one batch, and its host time.
      expect(r.dispatches).toBeGreaterThan(10);
      expect(r.hostMs).toBeGreaterThan(0);
      expect(tableRow(r)).toMatch(/\d+ dispatches, host [\d.]+ ms = [\d.]+ µs each/);
      expect(benchJson(ctx.engine.adapter, [r], 'test', []).results[0]).toMatchObject({ dispatches: r.dispatches, hostMs: expect.any(Number), hostUsPerDispatch: expect.any(Number) });
    } finally {
      await bench.dispose();
    }
  });
});

describe('bench --torch', () => {
  const found = torchPython();
  const missing = 'missing' in found ? found.missing : '';
  it.skipIf(missing)(titleNeeding(!missing, 'times a GEMM case and the compact model (training step, inference) in PyTorch', missing), () => {
    const python = (found as { python: string }).python;
    const cases = [gemmTorchCase('gemm.bwdB 33^3')!, ...modelCases(['compact']).map(torchModelCase)];
    const run = runTorch(python, cases, TINY);
    expect(Object.keys(run.results).sort()).toEqual(cases.map((c) => c.name).sort());
    for (const ms of Object.values(run.results)) expect(ms).toBeGreaterThan(0);
    expect(run.torch).toMatch(/^\d+\.\d+/);
    expect(run.device).toBeTruthy();
    expect(gemmTorchCase('conv1d.fwd 16x1x48000->64 k80/4')).toBeNull();
  });
});

describe('bench helpers', () => {
  it('parses the flags', () => {
    expect(parseOptions(['--quick', '--filter', 'conv1d,gemm', '--sizes', '256,512', '--json', '--profile'])).toMatchObject({
      quick: true,
      filters: ['conv1d', 'gemm'],
      sizes: [256, 512],
      json: true,
      profile: true,
    });
    expect(() => parseOptions(['--sizes', 'big'])).toThrow(/--sizes/);
    expect(() => parseOptions(['--frobnicate'])).toThrow(/unknown flag/);
    expect(parseOptions(['--model', 'default,m5'])).toMatchObject({ models: ['default', 'm5'] });
    expect(parseOptions(['--torch'])).toMatchObject({ torch: true });
    expect(() => parseOptions(['--model', 'huge'])).toThrow(/unknown preset "huge"/);
  });

  it('takes the median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
