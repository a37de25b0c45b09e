// Smoke test of the benchmark (bench/): every kernel case at tiny shapes passes its check against the CPU
// reference on both engines (this catches layout slips in the TensorFlow.js side as well as ours), the timing
// helper runs, and the m5-compact model's check (our GPU vs the CPU reference vs tfjs, and one Adam step)
// passes; the benchmark's tfjs twin implements the M5 design; the model cases run at another batch size; the
// cold-start child (dist/bench/cold-start.js: run node scripts/build.mjs first) times fresh processes; issue #11's
// targets are judged from a run's rows (bench/targets.ts); tfjs failing at a case (kernel or model) costs the row
// its tfjs columns alone, where ours failing fails it (a preset whose building fails frees our model at once); the
// whole run (dist/bench/index.js) keeps its table and JSON where tfjs cannot start or the profile fails, --budget
// stops the children at its end, a PyTorch case that fails costs its row alone, and scripts/gpu-bench.sh ends its
// log with its own seconds.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CheckError, checkCase, runCase, timedResult, type BenchContext, type KernelCase, type Prepared } from '../bench/case.js';
import { kernelCases, MODEL_CONV_LAYERS } from '../bench/cases-kernels.js';
import { coldStartHeader, coldStartJson, coldStartLine, coldStartRows, spawnColdStart, type ColdStartRow } from '../bench/cases-cold-start.js';
import { hostSplitHeader, hostSplitJson, hostSplitLine, hostSplitRows } from '../bench/cases-host-split.js';
import { budgetGate, budgetLeftMs, childTimeout } from '../bench/budget.js';
import { spawnBenchChild } from '../bench/child.js';
import { MODEL_BATCH, ModelBench, modelBatches, modelCases, torchModelCase } from '../bench/cases-model.js';
import { gemmTorchCase, runTorch, torchPython, type TorchCase } from '../bench/torch.js';
import type { ModelConfig } from '../src/model/config.js';
import { Module } from '../src/engine/module.js';
import { titleNeeding } from './skip.js';
import { tempDirForTests } from './temp-dir.js';
import { startEngine, startTfjs } from '../bench/gpu.js';
import { benchModelConfig } from '../bench/ser-ours.js';
import { TfjsSer } from '../bench/ser-tfjs.js';
import { parseOptions } from '../bench/options.js';
import { benchJson, tableRow, type BenchJson } from '../bench/report.js';
import { checkTargets, readBenchJson, targetLines } from '../bench/targets.js';
import { measure, median, ratioByRound, type TimingOptions } from '../bench/timing.js';

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
    for (const n of ['conv1d.fwd', 'conv1d.bwdInput', 'conv1d.bwdWeight', 'maxPool1d.fwd', 'maxPool1d.bwd', 'batchNorm+relu.fwd', 'batchNorm+relu.bwd', 'gemm.fwd', 'gemm.bwdA', 'gemm.bwdB', 'linear.fwd', 'linear.bwdInput', 'linear.bwdWeight', 'dispatch.floor']) {
      expect(names).toContain(n);
    }
  });

  it("runs at the m5 design's layers (the design tfjs's twin implements), batch 16 on 3-s windows", () => {
    const config = benchModelConfig('m5');
    let [channels, length] = [1, config.windowSamples];
    const layers = config.blocks.map((b) => {
      const padding = Math.floor(b.kernel / 2) - (b.kernel % 2 === 0 ? 1 : 0); // as ConvBlock
      const layer = { N: MODEL_BATCH, Cin: channels, Cout: b.channels, L: length, K: b.kernel, stride: b.stride, padding };
      length = Math.floor((length + 2 * padding - b.kernel) / b.stride) + 1;
      if (b.pool > 1) length = Math.floor(length / b.pool);
      channels = b.channels;
      return layer;
    });
    expect(MODEL_CONV_LAYERS).toEqual(layers);
    const names = kernelCases([]).map((c) => c.name);
    const pooled = channels + (config.useGender ? 2 : 0);
    expect(names).toEqual(expect.arrayContaining([`linear.fwd 16x${pooled}->${config.hidden}`, `linear.fwd 16x${config.hidden}->${config.classes.length}`]));
  });

  // Every case has a tfjs twin but the dispatch floor, which is no op of tfjs's.
  it.each(cases.map((c) => [c.name, c] as const))('%s matches the reference on both engines', async (_, c) => {
    const p = c.prepare(ctx);
    try {
      const { error, tfjsError } = await checkCase(c, p, ctx);
      expect(error).toBeLessThanOrEqual(c.tol ?? 1e-3);
      if (c.name.startsWith('dispatch.floor')) expect(p.tfjs).toBeUndefined();
      else expect(tfjsError).toBeLessThanOrEqual(c.tol ?? 1e-3);
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
    // The adapter's device names the GPU (the file name's slug is made of it): Dawn's description of an NVIDIA
    // adapter is the driver's version alone.
    expect(json.adapter.device).toBe(ctx.engine.adapter!.device);
    expect(json.adapter.device).toBeTruthy();
    expect(json.results[0]).toMatchObject({ name: r.name, tfjsMs: expect.any(Number), ratio: expect.any(Number) });
    expect(json.results[1]).toMatchObject({ name: 'broken', ms: null, failed: 'x' });
  });

  it("keeps our result, check and timing where tfjs fails at a case, and says why in the row, the JSON and --targets", async () => {
    const gemm = kernelCases([32], 0.01).find((c) => c.name.startsWith('gemm.fwd'))!;
    /** The GEMM case with its preparation changed by `change` (given the context prepare ran in). */
    const altered = (change: (p: Prepared, ctx: BenchContext) => void): KernelCase => ({
      ...gemm,
      prepare: (c) => {
        const p = gemm.prepare(c);
        change(p, c);
        return p;
      },
    });
    let tfjsRuns = 0;
    /** tfjs's run that throws from its call number `from` on (the check is call 0). */
    const throwingFrom = (from: number, message: string) =>
      altered((p) => {
        const run = p.tfjs!;
        tfjsRuns = 0;
        p.tfjs = () => {
          if (tfjsRuns++ >= from) throw new Error(message);
          return run();
        };
      });
    const live = () => ctx.backend.counters().liveBuffers;
    const before = live();

    // Its timed runs throw (out of memory, say): the check passed, the timing of ours goes on.
    const timed = await runCase(throwingFrom(1, 'tfjs: out of memory\nat a stack line'), ctx, TINY);
    expect(timed).toMatchObject({ tfjsMs: null, ratio: null, tfjsFailed: 'tfjs: out of memory', tfjsGflops: undefined });
    expect(timed.ms).toBeGreaterThan(0);
    expect(timed.gflops).toBeGreaterThan(0);
    expect(timed.error).toBeLessThanOrEqual(1e-3);
    expect(timed.tfjsError).toBeLessThanOrEqual(1e-3);
    expect(tfjsRuns).toBe(2); // the check's run, the one that threw: no more once it failed
    expect(tableRow(timed)).toMatch(/GFLOP\/s +failed +- {3}tfjs failed: tfjs: out of memory$/);
    // Its kernel rejects the shape at the check: tfjs is not timed.
    const checked = await runCase(throwingFrom(0, 'Error in matMul: inner shapes must match'), ctx, TINY);
    expect(checked).toMatchObject({ tfjsMs: null, ratio: null, tfjsFailed: 'Error in matMul: inner shapes must match' });
    expect(tfjsRuns).toBe(1);
    // Its result is wrong.
    const wrong = await runCase(altered((p) => (p.tfjsToOurs = [(d) => d.map(() => 7)])), ctx, TINY);
    expect(wrong.tfjsFailed).toMatch(/^the result does not match the CPU reference \(tfjs C, relative error /);
    expect(wrong.ms).toBeGreaterThan(0);
    // Its inputs cannot be made: the case is prepared again for ours alone, and the first attempt's inputs released.
    const unprepared = await runCase(
      altered((p, c) => {
        if (c.tf) throw new Error('tfjs: cannot upload');
      }),
      ctx,
      TINY,
    );
    expect(unprepared).toMatchObject({ tfjsMs: null, tfjsFailed: 'tfjs: cannot upload' });
    await ctx.engine.runtime!.sync();
    expect(live()).toBe(before);

    // The JSON keeps our figures and says why tfjs has none; --targets does not count the case as meeting ≥ 1.5×.
    const json = { ...benchJson(ctx.engine.adapter, [timed], 'test', []), adapter: { vendor: 'nvidia', architecture: '', description: 'NVIDIA: 580.159.04' } };
    expect(json.results[0]).toMatchObject({ name: timed.name, ms: expect.any(Number), tfjsMs: null, ratio: null, gflops: expect.any(Number), checkError: expect.any(Number), tfjsFailed: 'tfjs: out of memory' });
    expect(checkTargets(json).find((t) => t.target.startsWith('every case with a tfjs twin'))).toEqual({
      target: 'every case with a tfjs twin: ≥ 1.5× tfjs',
      measured: `no tfjs ratio: ${timed.name} (tfjs failed: tfjs: out of memory)`,
      met: null,
    });

    // Our failure still fails the row, whatever tfjs does.
    const ours = (change: (p: Prepared) => void) => runCase(altered(change), ctx, TINY);
    await expect(ours((p) => (p.ours = () => { throw new Error('our kernel broke'); }))).rejects.toThrow('our kernel broke');
    await expect(ours((p) => (p.expect[0].want = () => new Float32Array(32 * 32).fill(7)))).rejects.toThrow(CheckError);
  });

  it('with tuning on, reports beside our time what the tuner measured for the kernel it chose', async () => {
    const tuner = ctx.engine.runtime!.tuner;
    const c = kernelCases([32], 0.01).find((k) => k.name.startsWith('conv1d.fwd'))!;
    tuner.enabled = true;
    try {
      const r = await runCase(c, ctx, TINY);
      expect(r.tunedMs).toBeGreaterThan(0);
      expect(r.tunedMs).toBe(tuner.results.at(-1)!.ms[tuner.results.at(-1)!.chosen]);
      expect(tableRow(r)).toMatch(/ {3}tuner [\d.]+ ms$/);
      expect(benchJson(ctx.engine.adapter, [r], 'test', []).results[0]).toMatchObject({ tunedMs: expect.any(Number) });
      // Tuned already: the next run of the case has no figure of the tuner's to report.
      expect((await runCase(c, ctx, TINY)).tunedMs).toBeUndefined();
    } finally {
      tuner.enabled = false;
    }
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
      expect(tableRow(r)).toMatch(/\d+ dispatches, host [\d.]+ ms = [\d.]+ µs each \(rounds [\d.]+-[\d.]+; after an idle queue [\d.]+\)/);
      expect(r.hostAfterIdleMs).toBeGreaterThan(0);
      const [low, high] = r.hostMsRange!;
      expect(low).toBeLessThanOrEqual(r.hostMs!);
      expect(high).toBeGreaterThanOrEqual(r.hostMs!);
      expect(benchJson(ctx.engine.adapter, [r], 'test', []).results[0]).toMatchObject({ dispatches: r.dispatches, hostMs: expect.any(Number), hostUsPerDispatch: expect.any(Number), hostMsRange: [expect.any(Number), expect.any(Number)], hostAfterIdleMs: expect.any(Number) });
    } finally {
      await bench.dispose();
    }
  });
});

describe('bench model cases at another batch size', () => {
  it('names the batch, carries the preset\'s check and counts utterances per second at that size', async () => {
    const cases = modelCases(['m5-compact'], [MODEL_BATCH, 4]);
    expect(cases.map((c) => `${c.name} | ${c.label}`)).toEqual([
      'train step m5-compact (batch 16) | train m5-compact',
      'inference m5-compact (batch 16) | infer m5-compact',
      'train step m5-compact (batch 4) | train m5-compact b4',
      'inference m5-compact (batch 4) | infer m5-compact b4',
    ]);
    expect(torchModelCase(cases[2])).toMatchObject({ kind: 'train', batch: 4 });
    expect(modelBatches(true)).toEqual([16]);
    expect(modelBatches(false)).toEqual([16, 64]);
    const bench = await ModelBench.create(ctx, 'm5-compact', 4, { error: 0.25, tfjsError: 0.5 });
    try {
      await expect(bench.run(cases[1], TINY)).rejects.toThrow(/not this bench's preset and batch/);
      const r = await bench.run(cases[3], { ...TINY, warmup: 0 });
      expect(r.extra?.batchSize).toBe(4);
      expect(r.extra?.utterancesPerSecond).toBeCloseTo(4000 / r.ms, 6);
      expect(r.extra?.tfjsUtterancesPerSecond).toBeCloseTo(4000 / r.tfjsMs!, 6);
      expect([r.error, r.tfjsError]).toEqual([0.25, 0.5]);
      expect(benchJson(ctx.engine.adapter, [r], 'test', []).results[0]).toMatchObject({ name: 'inference m5-compact (batch 4)', batchSize: 4 });
    } finally {
      await bench.dispose();
    }
  });
});

describe('bench model cases when tfjs fails', () => {
  it('times ours and says why tfjs has no column, where tfjs fails the check (at every batch size) or a timed run', async () => {
    const [infer2, infer4] = modelCases(['m5-compact'], [2, 4]).filter((c) => c.mode === 'infer');
    const lossAndLogits = vi.spyOn(TfjsSer.prototype, 'lossAndLogits').mockImplementation(() => {
      throw new Error('tfjs: out of memory');
    });
    const predict = vi.spyOn(TfjsSer.prototype, 'predict');
    let checked;
    try {
      const bench = await ModelBench.create(ctx, 'm5-compact', 2);
      checked = bench.checked;
      try {
        const r = await bench.run(infer2, { ...TINY, warmup: 0 });
        expect(r).toMatchObject({ tfjsMs: null, ratio: null, tfjsFailed: 'tfjs: out of memory' });
        expect(r.ms).toBeGreaterThan(0);
        expect(r.hostMs).toBeGreaterThan(0);
        expect(r.error).toBeLessThanOrEqual(2e-3); // our forward was still checked against the CPU reference
        expect(r.extra).toMatchObject({ utterancesPerSecond: expect.any(Number) });
        expect(r.extra?.tfjsUtterancesPerSecond).toBeUndefined();
      } finally {
        await bench.dispose();
      }
    } finally {
      lossAndLogits.mockRestore();
    }
    expect(checked).toMatchObject({ tfjsFailed: 'tfjs: out of memory' });
    expect(predict).not.toHaveBeenCalled();
    // The preset's other batch sizes carry the failed check: tfjs is not timed there either.
    const carried = await ModelBench.create(ctx, 'm5-compact', 4, checked);
    try {
      expect(await carried.run(infer4, { ...TINY, warmup: 0 })).toMatchObject({ tfjsMs: null, tfjsFailed: 'tfjs: out of memory' });
      expect(predict).not.toHaveBeenCalled();
    } finally {
      await carried.dispose();
    }
    // A check that passed, then a timed run of tfjs's that throws.
    predict.mockImplementation(() => {
      throw new Error('tfjs: device lost');
    });
    const bench = await ModelBench.create(ctx, 'm5-compact', 4, { error: 0.25, tfjsError: 0.5 });
    try {
      const r = await bench.run(infer4, TINY);
      expect(r).toMatchObject({ tfjsMs: null, ratio: null, tfjsFailed: 'tfjs: device lost', error: 0.25, tfjsError: 0.5 });
      expect(r.ms).toBeGreaterThan(0);
      expect(predict).toHaveBeenCalledTimes(1);
    } finally {
      predict.mockRestore();
      await bench.dispose();
    }
  });
});

describe('bench model cases when building them fails', () => {
  it("frees our model at once when reading its weights for tfjs's twin fails, and passes the error on", async () => {
    const live = () => ctx.engine.backend.counters().liveBuffers;
    await ctx.engine.runtime?.sync();
    const before = live();
    const stateDict = vi.spyOn(Module.prototype, 'stateDict').mockRejectedValue(new Error('read-back failed'));
    try {
      await expect(ModelBench.create(ctx, 'm5-compact', 2, { error: 0.25, tfjsError: 0.5 })).rejects.toThrow('read-back failed');
    } finally {
      stateDict.mockRestore();
    }
    // The finalizer would free them only at some collection: counted now, they are already gone.
    expect(live()).toBe(before);
  });
});

describe('bench --cold-start', () => {
  it('times two fresh processes of ours: the first tunes into an empty cache, the second starts from it', async () => {
    const rows = await coldStartRows({ presets: ['compact'], tune: true, tfjs: true });
    // compact has no tfjs twin: ours only.
    expect(rows.map((r) => r.name)).toEqual(['cold start ours compact (batch 16), empty tuning cache', 'cold start ours compact (batch 16), warm tuning cache']);
    const [empty, warm] = rows as ColdStartRow[];
    for (const r of [empty, warm]) {
      expect(r).toMatchObject({ engine: 'ours', preset: 'compact', batch: 16, tuning: true });
      expect(r.loadedMs).toBeGreaterThan(0);
      expect(r.readyMs).toBeGreaterThan(r.loadedMs);
      expect(r.firstStepMs).toBeGreaterThan(r.readyMs);
      expect(r.nextStepMs).toBeGreaterThan(0);
    }
    expect(empty).toMatchObject({ cache: 'empty', cachedChoices: 0 });
    expect(empty.tuned).toBeGreaterThan(0);
    expect(warm).toMatchObject({ cache: 'warm', cachedChoices: empty.tuned, tuned: 0, candidates: 0, compileMs: 0, trialMs: 0 });
    expect(coldStartLine(warm)).toMatch(/^cold start ours compact \(batch 16\), warm tuning cache +\d+ +\d+ +\d+ +\d+  on: \d+ cached, 0 tuned$/);
    // The empty cache's tuning, by where its time went: every candidate's compile, then their trials.
    expect(empty.candidates).toBeGreaterThan(empty.tuned);
    expect(empty.compileMs).toBeGreaterThan(0);
    expect(empty.trialMs).toBeGreaterThan(0);
    expect(empty.compileMs + empty.trialMs).toBeLessThan(empty.firstStepMs);
    expect(coldStartLine(empty)).toMatch(new RegExp(`  on: 0 cached, ${empty.tuned} tuned \\(${empty.candidates} candidates: compiles [\\d.]+ s, trials [\\d.]+ s\\)$`));
  });

  it('times tfjs in a fresh process, and says why a child failed', async () => {
    const { spawned, instants: t } = await spawnColdStart(['--engine', 'tfjs', '--preset', 'm5-compact', '--batch', '2'], process.env);
    expect(t.loaded).toBeGreaterThan(spawned);
    expect(t.stepped).toBeGreaterThan(t.ready);
    expect(t.steppedAgain).toBeGreaterThan(t.stepped);
    await expect(spawnColdStart(['--engine', 'mxnet'], process.env)).rejects.toThrow(/exit 2: .*bad argument "--engine mxnet"/);
    await expect(spawnColdStart(['--engine', 'ours'], process.env, 1)).rejects.toThrow(/killed after 0.001 s/);
  });

  it('formats the rows', () => {
    const row: ColdStartRow = { name: 'cold start tfjs m5 (batch 16)', engine: 'tfjs', preset: 'm5', batch: 16, cache: null, tuning: false, loadedMs: 61.04, readyMs: 132.26, firstStepMs: 18850.33, nextStepMs: 24527, tuned: 0, cachedChoices: 0, candidates: 0, compileMs: 0, trialMs: 0 };
    const [head] = coldStartHeader().split('\n');
    const line = coldStartLine(row);
    expect(line.length).toBe(head.length - 'tuning'.length + 1);
    expect(line).toMatch(/^cold start tfjs m5 \(batch 16\) +61 +132 +18850 +24527  -$/);
    expect(head.indexOf('first step ms') + 'first step ms'.length).toBe(line.indexOf('18850') + 5);
    expect(coldStartLine({ name: 'x', failed: 'exit 2' })).toMatch(/^x +FAILED: exit 2$/);
    expect(coldStartJson([row])[0]).toMatchObject({ loadedMs: 61, readyMs: 132.3, firstStepMs: 18850.3 });
    const tuned: ColdStartRow = { ...row, name: 'cold start ours m5 (batch 16), empty tuning cache', engine: 'ours', cache: 'empty', tuning: true, tuned: 11, candidates: 262, compileMs: 17450.27, trialMs: 4049.9 };
    expect(coldStartLine(tuned)).toMatch(/  on: 0 cached, 11 tuned \(262 candidates: compiles 17.5 s, trials 4.0 s\)$/);
    expect(coldStartJson([tuned])[0]).toMatchObject({ compileMs: 17450.3, trialMs: 4049.9 });
  });

  it('starts rows while the run is within its --budget, then none, saying so once', () => {
    let now = 10;
    const notes: string[] = [];
    const gate = budgetGate(440, 'cold start', (note) => notes.push(note), () => now);
    expect(gate()).toBe(true);
    now = 439.9;
    expect(gate()).toBe(true);
    expect(notes).toEqual([]);
    now = 440;
    expect([gate(), gate()]).toEqual([false, false]);
    expect(notes).toEqual(["--budget 440 s was spent: the cold start's remaining rows were not run"]);
    expect(budgetGate(null, 'host split', (note) => notes.push(note), () => 1e9)()).toBe(true);
    expect(notes).toHaveLength(1);
  });

  it("stops a child that runs past the --budget's end, whatever its own timeout, and says so in its row", async () => {
    // A row started just inside the budget with a minute's timeout would otherwise end a minute past it.
    expect(budgetLeftMs(440, () => 439.5)).toBe(500);
    expect(budgetLeftMs(440, () => 450)).toBe(0);
    expect(budgetLeftMs(null, () => 1e9)).toBe(Infinity);
    expect(childTimeout(60_000, () => 500)).toEqual({ timeoutMs: 500, byBudget: true });
    expect(childTimeout(60_000, () => 996075.079447)).toEqual({ timeoutMs: 60_000, byBudget: false });
    expect(childTimeout(Infinity, () => 996075.079447)).toEqual({ timeoutMs: 996075, byBudget: true }); // whole ms, as spawn takes them
    expect(childTimeout(60_000, () => 0)).toEqual({ timeoutMs: 1, byBudget: true });
    expect(childTimeout(60_000, () => Infinity)).toEqual({ timeoutMs: 60_000, byBudget: false });
    expect(childTimeout(60_000)).toEqual({ timeoutMs: 60_000, byBudget: false });
    const [row] = await hostSplitRows([{ preset: 'compact', batch: 2 }], { tune: false, gpuPath: false, timeoutMs: 120_000, budgetLeftMs: () => 1 });
    expect(hostSplitLine(row)).toMatch(/FAILED: host-split .*killed after 0.001 s.* \(the end of --budget\)$/);
    const [cold] = await coldStartRows({ presets: ['compact'], tune: false, tfjs: false, timeoutMs: 120_000, budgetLeftMs: () => 1 });
    expect(coldStartLine(cold)).toMatch(/FAILED: cold-start .*killed after 0.001 s.* \(the end of --budget\)$/);
  });

  it('starts no row once told not to (the bench\'s --budget)', async () => {
    let asked = 0;
    const no = () => (asked++, false);
    expect(await coldStartRows({ tune: true, tfjs: true, canStart: no })).toEqual([]);
    expect(await hostSplitRows([{ preset: 'compact', batch: 2 }], { tune: false, gpuPath: true, timeoutMs: 1, canStart: no })).toEqual([]);
    expect(asked).toBe(2);
  });
});

describe('bench --host-split', () => {
  it("splits a training step's host time into ours and Dawn's, in a fresh process, and says why a child failed", async () => {
    // Every step run in full (--no-capture): a replayed step's own share is the replay's alone, a few per cent.
    const [row, gpuRow] = await hostSplitRows([{ preset: 'compact', batch: 2 }], { tune: false, capture: false, gpuPath: true, timeoutMs: 120_000 });
    if ('failed' in row) throw new Error(row.failed);
    expect(row).toMatchObject({ name: 'host split compact (batch 2)', preset: 'compact', batch: 2, kernels: ctx.engine.runtime!.profile.kernels });
    expect(row.dispatches).toBeGreaterThan(10);
    // Our share is at least a tenth and never all of it: Dawn records and submits the rest.
    expect(row.ownMs).toBeGreaterThan(0.1 * row.hostMs!);
    expect(row.ownMs).toBeLessThan(row.hostMs!);
    // Dawn's calls replayed alone cost something, and less than the whole step: ours is not in them.
    expect(row.dawnMs).toBeGreaterThan(0);
    expect(row.dawnMs).toBeLessThan(row.hostMs!);
    const [head] = hostSplitHeader().split('\n');
    const line = hostSplitLine(row);
    expect(line.length).toBe(head.length);
    expect(line).toMatch(/^host split compact \(batch 2\) +\d+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +-?[\d.]+$/);
    expect(hostSplitJson([{ ...row, hostMs: 0.8805704, dawnMs: 0.2514, ownMs: 0.4232039 }])[0]).toMatchObject({ hostMs: 0.881, dawnMs: 0.251, ownMs: 0.423 });
    // Ours on a GPU's kernels (the tiled ones), Dawn stubbed throughout: no host time of Dawn's.
    if ('failed' in gpuRow) throw new Error(gpuRow.failed);
    expect(gpuRow).toMatchObject({ name: 'host split compact (batch 2) GPU path', gpuPath: true, kernels: 'tiled', hostMs: null, dawnMs: null });
    expect(gpuRow.ownMs).toBeGreaterThan(0);
    expect(hostSplitLine(gpuRow)).toMatch(/^host split compact \(batch 2\) GPU path +\d+ +- +[\d.]+ +[\d.]+ +- +-$/);
    expect(hostSplitLine(gpuRow).length).toBe(head.length);
    const [failed] = await hostSplitRows([{ preset: 'compact', batch: 2 }], { tune: false, gpuPath: false, timeoutMs: 1 });
    expect(hostSplitLine(failed)).toMatch(/^host split compact \(batch 2\) +FAILED: host-split .*killed after 0.001 s/);
    await expect(spawnBenchChild('host-split', ['--preset', 'huge'], process.env, 60_000)).rejects.toThrow(/exit 2: .*bad argument "--preset huge"/);
  });
});

describe('bench (dist/bench/index.js) when a part fails on the adapter', () => {
  const tempDir = tempDirForTests('ser-bench-failing-');
  /** Runs the benchmark with navigator.gpu made by `gpu` (a module's body, given dawn.node's GPU as `dawn`) and
   * returns its status, its stderr and its JSON (--json). */
  function benchWith(gpu: string, args: string[]) {
    const preload = join(tempDir(), `gpu-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(
      preload,
      `import { createRequire } from 'node:module';
const webgpu = createRequire(process.cwd() + '/package.json')('webgpu');
Object.assign(globalThis, webgpu.globals);
const dawn = webgpu.create([]);
${gpu}
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
`,
    );
    const r = spawnSync(process.execPath, ['--import', preload, 'dist/bench/index.js', '--quick', '--no-cold-start', '--no-host-split', '--json', '--out', tempDir(), ...args], { encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr, json: r.status === 2 ? null : (JSON.parse(r.stdout.trim().split('\n').pop()!) as BenchJson & { census?: unknown }) };
  }

  it('runs ours alone when TensorFlow.js cannot start, and says why, with its table and JSON', () => {
    // Our engine gets the adapter; every later request (tfjs's) gets none, as from an adapter its backend cannot use.
    const r = benchWith(
      `let asked = 0;
const gpu = { requestAdapter: (o) => (asked++ ? Promise.resolve(null) : dawn.requestAdapter(o)), getPreferredCanvasFormat: () => dawn.getPreferredCanvasFormat(), wgslLanguageFeatures: dawn.wgslLanguageFeatures };`,
      ['--filter', 'dispatch.floor'],
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.json!.results.map((row) => [row.name, typeof row.ms])).toEqual([['dispatch.floor 1x1', 'number']]);
    expect(r.json!.notes).toContainEqual(expect.stringMatching(/^TensorFlow.js did not start \(.*webgpu backend did not start\): ours alone$/));
  });

  it('keeps the table, the census and the JSON when the profile fails', () => {
    // Query sets fail on this device: the profiler's timestamps, as a GPU's read-back of them might.
    const r = benchWith(
      `const gpu = {
  requestAdapter: async (o) => {
    const adapter = await dawn.requestAdapter(o);
    const requestDevice = adapter.requestDevice.bind(adapter);
    adapter.requestDevice = async (d) => Object.assign(await requestDevice(d), { createQuerySet: () => { throw new Error('no query sets here'); } });
    return adapter;
  },
  getPreferredCanvasFormat: () => dawn.getPreferredCanvasFormat(),
  wgslLanguageFeatures: dawn.wgslLanguageFeatures,
};`,
      ['--filter', 'dispatch.floor,train step m5-compact', '--no-tfjs', '--profile'],
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.json!.results.map((row) => row.name)).toEqual(['dispatch.floor 1x1', 'train step m5-compact (batch 16)']);
    expect(r.json!.census).toMatchObject({ preset: 'm5-compact' });
    expect(r.json!.notes).toContainEqual('--profile failed: no query sets here');
  });
});

describe('scripts/gpu-bench.sh', () => {
  const tempDir = tempDirForTests('ser-gpu-bench-');
  it("ends its log with its own seconds and passes on the benchmark's status, also when a case failed", () => {
    const dir = tempDir();
    // A stand-in for node: the benchmark's last line on a run with a failed case, and its exit status.
    writeFileSync(join(dir, 'node'), '#!/bin/sh\necho "1 case(s) FAILED (see above)"\nexit 1\n', { mode: 0o755 });
    const out = join(dir, 'out');
    const r = spawnSync('bash', ['scripts/gpu-bench.sh'], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, OUT: out } });
    expect(r.status).toBe(1);
    expect(readFileSync(join(out, 'bench.log'), 'utf8')).toMatch(/^1 case\(s\) FAILED \(see above\)\ngpu-bench.sh: \d+ s from start to end\n$/);
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

  it.skipIf(missing)(titleNeeding(!missing, "times the other cases where one fails in PyTorch, and names it", missing), () => {
    const python = (found as { python: string }).python;
    // A design ser_model.py refuses (FiLM without the filter bank), as a GPU's out-of-memory error would stop a case.
    const [m5] = modelCases(['m5-compact'], [2]).map(torchModelCase);
    const broken = { ...m5, name: 'train step m5-compact FiLM (batch 2)', config: { ...(m5 as { config: ModelConfig }).config, fusion: 'film' as const } };
    const run = runTorch(python, [broken as TorchCase, gemmTorchCase('gemm.fwd 33^3')!], TINY);
    expect(Object.keys(run.results)).toEqual(['gemm.fwd 33^3']);
    expect(run.failed).toEqual({ 'train step m5-compact FiLM (batch 2)': expect.stringMatching(/^ValueError: SerModel: fusion 'film' needs the filter-bank front end/) });
  });

  it.skipIf(missing)(titleNeeding(!missing, 'stops the PyTorch script at its timeout (the end of the bench\'s --budget)', missing), () => {
    const python = (found as { python: string }).python;
    expect(() => runTorch(python, [gemmTorchCase('gemm.fwd 33^3')!], TINY, 1)).toThrow(/bench\/torch_bench.py stopped after 0.001 s$/);
    expect(() => runTorch(python, [gemmTorchCase('gemm.fwd 33^3')!], TINY, 1.5)).toThrow(/stopped after 0.001 s$/); // not "out of range"
    expect(runTorch(python, [gemmTorchCase('gemm.fwd 33^3')!], TINY, 60_000.5).results['gemm.fwd 33^3']).toBeGreaterThan(0);
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
    expect(parseOptions(['--model', 'm5,default,m5'])).toMatchObject({ models: ['m5', 'default'] });
    expect(parseOptions(['--torch'])).toMatchObject({ torch: true });
    expect(parseOptions([])).toMatchObject({ budget: null });
    expect(parseOptions(['--budget', '430.5'])).toMatchObject({ budget: 430.5 });
    expect(() => parseOptions(['--budget', '0'])).toThrow(/--budget: "0" is not a positive number of seconds/);
    expect(() => parseOptions(['--budget', 'soon'])).toThrow(/--budget: "soon"/);
    expect(() => parseOptions(['--model', 'huge'])).toThrow(/unknown preset "huge"/);
    expect(parseOptions([])).toMatchObject({ batches: null, coldStart: null });
    expect(parseOptions(['--batch', '16,64,16', '--cold-start'])).toMatchObject({ batches: [16, 64], coldStart: true });
    expect(parseOptions(['--no-cold-start'])).toMatchObject({ coldStart: false });
    expect(parseOptions([])).toMatchObject({ hostSplit: null, busyWaits: false });
    expect(parseOptions(['--busy-waits'])).toMatchObject({ busyWaits: true });
    expect(parseOptions([])).toMatchObject({ capture: true });
    expect(parseOptions(['--no-capture'])).toMatchObject({ capture: false });
    expect(parseOptions(['--host-split'])).toMatchObject({ hostSplit: true });
    expect(parseOptions(['--no-host-split'])).toMatchObject({ hostSplit: false });
    expect(() => parseOptions(['--batch', '16,0'])).toThrow(/--batch: "0" is not a positive integer/);
    expect(() => parseOptions(['--batch'])).toThrow(/--batch needs a value/);
    expect(parseOptions(['--targets', 'run.json'])).toMatchObject({ targets: 'run.json' });
    expect(() => parseOptions(['--targets'])).toThrow(/--targets needs a value/);
  });

  it('takes the median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  /** `measure` on a clock that only the runs move: run number r of workload i takes `runMs[i](r)` ms. */
  async function measureOnClock(runMs: Array<(run: number) => number>, o: TimingOptions) {
    const clock = { now: 0 };
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
    const workload = (ms: (run: number) => number) => {
      let runs = 0;
      return { run: () => void (clock.now += ms(runs++)), sync: async () => {} };
    };
    try {
      return await measure(runMs.map(workload), o);
    } finally {
      now.mockRestore();
    }
  }

  it('sizes the batch from a second run when the first filled a sample alone (a stall is not the work)', async () => {
    const [t] = await measureOnClock([(run) => (run === 0 ? 100 : 1)], { warmup: 0, repeats: 3, minSampleMs: 10, budgetMs: 10_000 });
    expect(t.batch).toBeGreaterThan(1);
    expect(t.samples).toEqual([1, 1, 1]);
    expect(t.rounds).toEqual([1, 2, 3]);
  });

  it('grows the batch by the fastest rate seen, past a sample that a stall lengthened', async () => {
    const [t] = await measureOnClock([(run) => (run === 1 ? 500 : 1)], { warmup: 0, repeats: 1, minSampleMs: 100, budgetMs: 10_000 });
    // One run took 1 ms, the 16 of the next sample 515: at 1 ms a run, samples of 100 ms need 100 runs.
    expect(t.batch).toBeGreaterThanOrEqual(100);
    expect(t.ms).toBe(1);
  });

  it("spreads a ratio over the rounds in which both engines took a sample, and shows it in the row and the JSON", async () => {
    // Work that takes as long as its list says, round after round; one run fills a sample (minSampleMs 0), so
    // each first run is taken twice and the shorter kept: the first two of each list.
    const lists = [
      [2, 3, 2, 8],
      [9, 8, 8, 4],
    ];
    const [ours, theirs] = await measureOnClock(lists.map((ms) => (run) => ms[run]), { warmup: 0, repeats: 3, minSampleMs: 0, budgetMs: 10_000 });
    expect(ours.rounds).toEqual([0, 1, 2]);
    expect(theirs.rounds).toEqual([0, 1, 2]);
    const [low, high] = ratioByRound(ours, theirs)!;
    expect([low, high]).toEqual([0.5, 4]); // round 2: 4 ms against 8; rounds 0 and 1: 8 against 2
    // Paired by round: a sample with no partner is left out, and one pair is no spread.
    const timing = (samples: number[], rounds: number[]) => ({ ms: median(samples), batch: 1, samples, rounds });
    expect(ratioByRound(timing([1, 2, 1.5], [0, 1, 2]), timing([3, 3, 6], [1, 2, 3]))).toEqual([1.5, 2]);
    expect(ratioByRound(timing([1, 2], [0, 1]), timing([3, 3], [1, 2]))).toBeNull();
    const row = { ...timedResult({ name: 'gemm.fwd 256^3', label: 'gemm' }, ours, theirs), error: 0 };
    expect(row.ratioRange).toEqual([low, high]);
    expect(tableRow(row)).toMatch(/ {3}by round [\d.]+-[\d.]+x$/);
    const json = benchJson(undefined, [row], 'test', []).results[0] as Record<string, unknown>;
    expect(json.ratioRange).toEqual([expect.closeTo(low, 4), expect.closeTo(high, 4)]);
    // Every sample of both engines, round by round: where a stall of the machine shows.
    expect(json.samples).toEqual(ours.samples.map((v) => expect.closeTo(v, 4)));
    expect(json.tfjsSamples).toEqual(theirs.samples.map((v) => expect.closeTo(v, 4)));
    expect(json.samples).toHaveLength(3);
  });
});

describe('bench --targets (issue #11)', () => {
  const H100 = { vendor: 'nvidia', architecture: '', description: 'NVIDIA: 580.159.04' };
  const LAVAPIPE = { vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7' };
  /** A run that meets every target by a margin; `change` edits one row. */
  const run = (adapter: BenchJson['adapter'], change: Record<string, Record<string, number>> = {}): BenchJson => {
    const results: BenchJson['results'] = [
      { name: 'conv1d.fwd 16x64x3000->128 k3', ms: 0.1, tfjsMs: 0.4, ratio: 4 },
      { name: 'train step default (batch 16)', ms: 2, tfjsMs: null, ratio: null, dispatches: 57, hostUsPerDispatch: 20, torchMs: 3.3, torchRatio: 1.65 },
      { name: 'train step compact (batch 16)', ms: 1.5, tfjsMs: null, ratio: null, dispatches: 49, hostUsPerDispatch: 20 },
      { name: 'inference default (batch 16)', ms: 0.5, tfjsMs: null, ratio: null, torchMs: 0.6 },
      ...['fwd', 'bwdA', 'bwdB'].map((pass) => ({ name: `gemm.${pass} 4096^3`, ms: 3, tfjsMs: 6, ratio: 2, gflops: 45000 })),
    ];
    return { adapter, date: '2026-11-26', timing: '', notes: [], geometricMeanRatio: null, results: results.map((r) => ({ ...r, ...change[r.name] })) as BenchJson['results'] };
  };
  const failing = (r: BenchJson) => checkTargets(r).filter((c) => c.met === false).map((c) => c.target);

  it('meets every target of a run that meets them, and fails exactly the one that a row misses', () => {
    expect(failing(run(H100))).toEqual([]);
    expect(checkTargets(run(H100)).every((c) => c.met === true)).toBe(true);
    const cases: [string, Record<string, number>, RegExp][] = [
      ['train step default (batch 16)', { dispatches: 61 }, /default \(batch 16\): ≤ 60 dispatches/],
      ['train step default (batch 16)', { hostUsPerDispatch: 30.5 }, /default \(batch 16\): ≤ 30 µs/],
      ['train step default (batch 16)', { ms: 6.6 }, /default \(batch 16\): ≤ 6.5 ms/],
      ['train step compact (batch 16)', { ms: 4.1 }, /compact \(batch 16\): ≤ 4 ms/],
      ['inference default (batch 16)', { ms: 0.73 }, /inference default \(batch 16\): ≤ 1.2×/],
      ['gemm.bwdA 4096^3', { gflops: 39900 }, /gemm.bwdA 4096\^3: ≥ 40/],
      ['conv1d.fwd 16x64x3000->128 k3', { ratio: 1.49 }, /≥ 1.5× tfjs/],
    ];
    for (const [name, change, target] of cases) {
      const failed = failing(run(H100, { [name]: change }));
      expect(failed, `${name} ${JSON.stringify(change)}`).toHaveLength(1);
      expect(failed[0]).toMatch(target);
    }
  });

  it('holds a CPU adapter to 3× tfjs and leaves the GPU targets unjudged; a filtered run judges only what it measured', () => {
    const cpu = checkTargets(run(LAVAPIPE, { 'conv1d.fwd 16x64x3000->128 k3': { ratio: 2.9 } }));
    expect(cpu.filter((c) => c.met === false).map((c) => c.target)).toEqual(['every case with a tfjs twin: ≥ 3× tfjs']);
    expect(cpu.filter((c) => c.met === null).map((c) => c.measured)).toEqual(Array(6).fill('a GPU target'));
    const partial = { ...run(H100), results: run(H100).results.filter((r) => r.name.startsWith('gemm.fwd')) };
    const checks = checkTargets(partial);
    expect(checks.filter((c) => c.met !== null).map((c) => c.target)).toEqual(['gemm.fwd 4096^3: ≥ 40 TFLOP/s', 'every case with a tfjs twin: ≥ 1.5× tfjs']);
    expect(targetLines(partial, checks)[0]).toMatch(new RegExp(`: every measured one met, ${checks.filter((c) => c.met === null).length} not judged \\(—\\)$`));
    expect(targetLines(run(H100), checkTargets(run(H100)))[0]).toMatch(/: every measured one met$/);
    const noisy = checkTargets(run(LAVAPIPE, { 'conv1d.fwd 16x64x3000->128 k3': { ratio: 2.9, ratioRange: [2.1, 3.4] as never } }));
    expect(noisy.find((c) => c.met === false)!.measured).toMatch(/; short: conv1d.fwd 16x64x3000->128 k3 2.90× \(by round 2.10-3.40×\); gemm.fwd 4096\^3 2.00×/);
    // With the run's dispatch floor, a short case says how far above it ours ran.
    const floored = run(LAVAPIPE, { 'conv1d.fwd 16x64x3000->128 k3': { ratio: 2.9 } });
    floored.results.push({ name: 'dispatch.floor 1x1', ms: 0.02, tfjsMs: null, ratio: null });
    expect(checkTargets(floored).find((c) => c.met === false)!.measured).toMatch(/short: conv1d.fwd 16x64x3000->128 k3 2.90×, ours 0.100 ms: 5.0× dispatch.floor 1x1's 0.020; gemm/);
    const named = run({ ...H100, device: 'NVIDIA H100 80GB HBM3' });
    expect(targetLines(named, checkTargets(named))[0]).toMatch(/^issue #11's targets on NVIDIA H100 80GB HBM3 \(NVIDIA: 580.159.04\)/);
    const slow = run(H100, { 'gemm.fwd 4096^3': { gflops: 39000 } });
    expect(targetLines(slow, checkTargets(slow))).toEqual(expect.arrayContaining([expect.stringMatching(/^issue #11's targets on NVIDIA: .*: 1 not met$/), expect.stringMatching(/^  NOT MET gemm.fwd 4096\^3: ≥ 40 TFLOP\/s +39.0 TFLOP\/s$/)]));
  });

  it('judges no tfjs ratio of a case at which tfjs failed as met: the target is then unjudged, or missed by another case', () => {
    const failed = { name: 'maxPool1d.fwd 16x64x12000 /4', ms: 0.2, tfjsMs: null, ratio: null, tfjsFailed: 'tfjs: out of memory' };
    const ratioOf = (r: BenchJson) => checkTargets(r).find((c) => c.target === 'every case with a tfjs twin: ≥ 1.5× tfjs')!;
    const unjudged = run(H100);
    unjudged.results.push(failed);
    expect(ratioOf(unjudged)).toEqual({
      target: 'every case with a tfjs twin: ≥ 1.5× tfjs',
      measured: '4 of 5; closest gemm.fwd 4096^3 2.00×; no tfjs ratio: maxPool1d.fwd 16x64x12000 /4 (tfjs failed: tfjs: out of memory)',
      met: null,
    });
    const short = run(H100, { 'conv1d.fwd 16x64x3000->128 k3': { ratio: 1.49 } });
    short.results.push(failed);
    expect(ratioOf(short)).toMatchObject({ measured: expect.stringMatching(/^3 of 5; short: conv1d.* 1.49×; no tfjs ratio: maxPool1d.fwd/), met: false });
  });

  it("leaves an inference target unjudged where PyTorch failed at that case, and says so", () => {
    const failed = { ...run(H100), torch: { failed: { 'inference default (batch 16)': 'RuntimeError: CUDA out of memory.' } } };
    const row = failed.results.find((r) => r.name === 'inference default (batch 16)')!;
    delete (row as Record<string, unknown>).torchMs;
    expect(checkTargets(failed).filter((c) => c.target.includes('PyTorch'))).toEqual([
      { target: "inference default (batch 16): ≤ 1.2× PyTorch's time", measured: 'no PyTorch time (PyTorch failed: RuntimeError: CUDA out of memory.)', met: null },
    ]);
  });

  it('never prints a missed figure rounded onto its bound', () => {
    // The H100 run at 0e88c35: gemm.bwdB 4096³ at 1.4995× tfjs had read '1.50× (by round 1.50-1.94×)' beside NOT MET.
    const short = run(H100, { 'gemm.bwdB 4096^3': { ratio: 1.4995, ratioRange: [1.4981, 1.9421] as never, gflops: 39960 } });
    const measured = Object.fromEntries(checkTargets(short).map((c) => [c.target, c.measured]));
    expect(measured['every case with a tfjs twin: ≥ 1.5× tfjs']).toBe('3 of 4; short: gemm.bwdB 4096^3 1.4995× (by round 1.498-1.94×)');
    expect(measured['gemm.bwdB 4096^3: ≥ 40 TFLOP/s']).toBe('39.96 TFLOP/s');
    // Just over a bound reads as over it; far from one, the usual digits.
    const over = checkTargets(run(H100, { 'train step default (batch 16)': { ms: 6.4996, hostUsPerDispatch: 29.97 } }));
    expect(over.map((c) => c.measured)).toEqual(expect.arrayContaining(['6.4996 ms', '29.97 µs', '45.0 TFLOP/s']));
  });

  const tempDir = tempDirForTests('ser-targets-');
  it('reads a saved run, and names a file that is not one', () => {
    const dir = tempDir();
    const good = join(dir, 'run.json');
    writeFileSync(good, JSON.stringify(run(H100)));
    expect(readBenchJson(good).results).toHaveLength(7);
    writeFileSync(join(dir, 'other.json'), '{"name": "ser-webgpu"}');
    expect(() => readBenchJson(join(dir, 'other.json'))).toThrow(/other\.json is not a benchmark run's JSON/);
    expect(() => readBenchJson(join(dir, 'missing.json'))).toThrow(/cannot read .*missing\.json/);
  });
});
