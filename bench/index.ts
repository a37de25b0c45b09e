// `npm run bench`: every kernel the SER model runs, at the m5 design's shapes (cases-kernels.ts), forward and
// backward, plus GEMM and the whole training step and inference, each checked against the CPU reference and then
// timed against TensorFlow.js's WebGPU backend on the same adapter in this process. Prints a table, writes charts
// and a JSON file to bench/results/ (`--json`: the JSON object is also the last line of stdout); `--profile` adds
// the per-kernel GPU time of our training step, `--cold-start` the time fresh processes take to their first
// training step (cases-cold-start.ts). Flags: see options.ts.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTuning, saveTuning, tuningPath } from '../src/cli/tuning-file.js';
import type { KernelTime, TuningResult } from '../src/index.js';
import { setStepCapture } from '../src/index.js';
import { CheckError, runCase, type BenchContext, type CaseResult } from './case.js';
import { gemmSizes, kernelCases } from './cases-kernels.js';
import { coldStartHeader, coldStartJson, coldStartLine, coldStartRows, type ColdStartResult } from './cases-cold-start.js';
import { hostSplitHeader, hostSplitJson, hostSplitLine, hostSplitRows, type HostSplitResult } from './cases-host-split.js';
import { ModelBench, modelBatches, modelCases, torchModelCase, type ModelCase, type ModelCheck } from './cases-model.js';
import { gemmTorchCase, runTorch, torchPython, type TorchCase, type TorchRun } from './torch.js';
import { budgetGate, budgetLeftMs, childFailure, childTimeout } from './budget.js';
import { isCpuAdapter, startEngine, startTfjs, useBusyWaits } from './gpu.js';
import { parseOptions, selected, USAGE } from './options.js';
import { adapterLabel, adapterSlug, benchJson, geometricMeanRatio, isFailed, ratioChart, tableHeader, tableRow, throughputChart, type Row } from './report.js';
import { checkTargets, readBenchJson, targetLines } from './targets.js';
import { FULL_TIMING, QUICK_TIMING, type TimingOptions } from './timing.js';


const PROFILE_STEPS = 3;

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (options.targets) {
    try {
      const run = readBenchJson(options.targets);
      console.log(targetLines(run, checkTargets(run)).join('\n'));
      return 0;
    } catch (e) {
      console.error((e as Error).message);
      return 2;
    }
  }
  const engine = await startEngine();
  if (options.busyWaits) useBusyWaits(engine);
  setStepCapture(options.capture);
  const tuner = engine.runtime!.tuner;
  if (options.tune !== null) tuner.enabled = options.tune;
  // --retune times every shape again: the saved choices are loaded only after (see the end).
  if (tuner.enabled && !options.retune) await loadTuning(engine);
  // TensorFlow.js failing to start (an adapter its backend cannot use) costs its column, not the run's table and JSON.
  let tfjsFailure: string | null = null;
  const tf = options.tfjs
    ? await startTfjs().catch((e: Error) => {
        tfjsFailure = e.message;
        return null;
      })
    : null;
  const ctx: BenchContext = { engine, backend: engine.backend, tf };
  const adapter = adapterLabel(engine.adapter);
  const timing = options.quick ? QUICK_TIMING : FULL_TIMING;
  const timingText =
    `median of up to ${timing.repeats} samples (fewer past ${timing.budgetMs / 1000} s per case and engine) after a warm-up run ` +
    `(for kernels: the checked run); a sample is k runs then one queue sync, divided by k (k = 1 unless a run takes under ` +
    `${timing.minSampleMs} ms); ours and tfjs alternate sample by sample; inputs resident on the GPU, no upload or read-back timed`;

  const notes: string[] = [];
  const cpuAdapter = isCpuAdapter(engine);
  const { sizes, note } = gemmSizes(cpuAdapter, options.sizes);
  if (note) notes.push(note);
  const batches = options.batches ?? modelBatches(cpuAdapter);
  if (!options.batches && cpuAdapter) notes.push('model cases at batch 16 only on a CPU adapter (--batch 16,64 asks for batch 64 too)');
  // By default on a GPU, unless --filter leaves the cold start out.
  const coldStart = options.coldStart ?? (!cpuAdapter && selected({ name: 'cold start', label: '' }, options.filters));
  if (options.coldStart === null && cpuAdapter) notes.push('no cold start on a CPU adapter (--cold-start times it)');
  // Likewise the host split (our share of the training step's host time).
  const hostSplitOn = options.hostSplit ?? (!cpuAdapter && selected({ name: 'host split', label: '' }, options.filters));
  if (options.hostSplit === null && cpuAdapter) notes.push('no host split on a CPU adapter (--host-split measures it)');
  if (!tf) notes.push(tfjsFailure ? `TensorFlow.js did not start (${tfjsFailure}): ours alone` : '--no-tfjs: TensorFlow.js not run');
  if (cpuAdapter) notes.push(options.busyWaits ? '--busy-waits: both engines wait on the device in dawn.node\'s busy loop' : 'both engines wait on the device politely, leaving the cores to the CPU driver (--busy-waits: in dawn.node\'s busy loop)');
  if (!options.capture) notes.push('--no-capture: every training step runs its JavaScript, none is replayed');
  if (options.quick) notes.push('--quick: few repeats, the numbers are rough');
  notes.push(tuner.enabled ? 'our kernels tuned per shape before timing (--no-tune: the rules)' : 'our kernels chosen by rule, no tuning (--tune to time the candidates)');

  console.log(`adapter: ${adapter}`);
  console.log(`timing: ${timingText}`);
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`\n${tableHeader()}`);

  const rows: Row[] = [];
  const record = (row: Row) => {
    rows.push(row);
    console.log(tableRow(row));
  };
  const failure = (name: string, e: unknown) => record({ name, failed: e instanceof CheckError ? e.message : `${(e as Error)?.message ?? e}` });

  // Each section's wall seconds go into the log and the JSON: the GPU script has 8 minutes in one device call.
  const sectionSeconds: Record<string, number> = {};
  const timed = async <T>(section: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      sectionSeconds[section] = Math.round(performance.now() - t0) / 1000;
    }
  };
  const budgetAllows = (section: string) =>
    budgetGate(options.budget, section, (note) => {
      notes.push(note);
      console.log(`note: ${note}`);
    });

  await timed('kernel cases', async () => {
    for (const c of kernelCases(sizes).filter((c) => selected(c, options.filters))) {
      try {
        record(await runCase(c, ctx, timing));
      } catch (e) {
        failure(c.name, e);
      }
    }
  });

  let profile: { rows: KernelTime[]; text: string } | undefined;
  let census: [string, number][] | undefined;
  const models = modelCases(options.models ?? undefined, batches).filter((c) => selected(c, options.filters));
  const profiledPreset = models.find((c) => c.mode === 'train')?.preset ?? 'default';
  await timed('model cases', async () => {
    for (const preset of [...new Set(models.map((c) => c.preset))]) {
      // The preset's first batch size runs the batch-of-2 check; the others carry its result.
      let checked: ModelCheck | undefined;
      for (const batch of [...new Set(models.filter((m) => m.preset === preset).map((m) => m.batch))]) {
        const cases = models.filter((m) => m.preset === preset && m.batch === batch);
        let bench: ModelBench | null = null;
        try {
          bench = await ModelBench.create(ctx, preset, batch, checked ?? true);
          checked = bench.checked;
          for (const c of cases) {
            try {
              record(await bench.run(c, timing));
            } catch (e) {
              failure(c.name, e);
            }
          }
        } catch (e) {
          for (const c of cases) failure(c.name, e);
        } finally {
          await bench?.dispose();
        }
      }
    }
  });

  let torch: Omit<TorchRun, 'results'> | { missing: string } | undefined;
  if (options.torch) {
    // PyTorch's failure costs its column, not the run's table and JSON.
    torch = await timed('PyTorch', () => torchColumn(rows, models, timing, () => budgetLeftMs(options.budget)).catch((e: Error) => ({ missing: e.message })));
    if ('missing' in torch) console.log(`\n--torch: not run: ${torch.missing}`);
  }

  if (options.profile) {
    // After every case this process times: the profiler cannot be switched off again, and its timestamps would
    // slow them. The cold start and the host split below run in processes of their own.
    const timestamps = engine.runtime?.profile.timestamps ?? false;
    // No row of the table: its failure (our step on this adapter, the timestamps' read-back) costs the census or
    // the profile, not the run's JSON, charts and targets, which used to be lost with it.
    let failed: string | undefined;
    await timed('profile', async () => {
      const bench = await ModelBench.create({ ...ctx, tf: null }, profiledPreset, undefined, false);
      try {
        census = await bench.census();
        if (timestamps) profile = await bench.profile(PROFILE_STEPS);
      } finally {
        await bench.dispose();
      }
    }).catch((e: Error) => (failed = e.message));
    if (census) {
      console.log(`\nour training step, ${profiledPreset} model, batch 16: ${census.reduce((s, [, n]) => s + n, 0)} dispatches, by kernel`);
      for (const [kernel, n] of census) console.log(`  ${kernel.padEnd(40)}${String(n).padStart(5)}`);
    }
    if (failed) {
      const note = `--profile failed: ${failed}`;
      notes.push(note);
      console.log(`\nnote: ${note}`);
    } else if (profile) {
      console.log(`\nour training step, ${profiledPreset} model, batch 16: GPU time per kernel over ${PROFILE_STEPS} steps`);
      console.log(profile.text);
    } else {
      console.log('\nprofile: this adapter has no timestamp-query, so there is no per-kernel GPU time');
    }
  }

  if (tuner.results.length) {
    console.log(`\nkernel tuning: median ms per run of each candidate, the chosen one first (saved to ${tuningPath()})`);
    for (const r of tuner.results) console.log(formatTuning(r));
    const { candidates, compileMs, trialMs } = tuner.spent;
    console.log(`kernel tuning took ${((compileMs + trialMs) / 1000).toFixed(1)} s for ${tuner.results.length} shape${tuner.results.length === 1 ? '' : 's'}: ${candidates} candidates compiled in ${(compileMs / 1000).toFixed(1)} s, their trials ${(trialMs / 1000).toFixed(1)} s`);
    if (options.retune) {
      // Keep the saved choices of shapes this run did not reach, with this run's measurements over them.
      const fresh = tuner.choices();
      await loadTuning(engine);
      tuner.load(fresh);
    }
    await saveTuning(engine).catch((e) => console.log(`note: could not save the kernel choices (${(e as Error).message})`));
  }

  let coldStartResults: ColdStartResult[] | undefined;
  if (coldStart) {
    console.log(`\ncold start: ms from spawning node (dist/bench/cold-start.js) to each instant; a fresh process per row\n${coldStartHeader()}`);
    // A GPU's processes take seconds: a minute each at most keeps a hung one from eating the GPU session.
    const timeoutMs = cpuAdapter ? undefined : 60_000;
    coldStartResults = await timed('cold start', () => coldStartRows({ tune: options.tune, tfjs: tf !== null, timeoutMs, canStart: budgetAllows('cold start'), budgetLeftMs: () => budgetLeftMs(options.budget), onRow: (r) => console.log(coldStartLine(r)) }));
  }

  let hostSplit: HostSplitResult[] | undefined;
  const hostSplitAllowed = budgetAllows('host split');
  if (hostSplitOn && hostSplitAllowed()) {
    // After the tuning choices are saved: the children load them, and so run the kernels the rows above ran.
    const gpuPathNote = cpuAdapter ? "; 'GPU path': ours on a GPU's kernels (a runtime that takes this adapter for a GPU, Dawn stubbed throughout)" : '';
    console.log(`\nhost split: a training step's host ms (as in the rows above), then with Dawn's recording and submitting calls stubbed out: ours alone; the step's calls into Dawn replayed without ours: Dawn alone; the rest: what the two cost each other on one thread; a fresh process per row${gpuPathNote}\n${hostSplitHeader()}`);
    const steps = models.filter((c) => c.mode === 'train');
    hostSplit = await timed('host split', () => hostSplitRows(steps, { tune: options.tune, capture: options.capture, gpuPath: cpuAdapter, timeoutMs: cpuAdapter ? 300_000 : 60_000, canStart: hostSplitAllowed, budgetLeftMs: () => budgetLeftMs(options.budget), onRow: (r) => console.log(hostSplitLine(r)) }));
  }

  const gm = geometricMeanRatio(rows);
  if (gm !== null) console.log(`\ngeometric mean of tfjs/ours over ${rows.filter((r) => 'ratio' in r && r.ratio !== null).length} cases: ${gm.toFixed(2)}x`);
  console.log(`time by section: ${Object.entries(sectionSeconds).map(([section, s]) => `${section} ${s.toFixed(0)} s`).join(', ')}; ${(performance.now() / 1000).toFixed(0)} s since the process started`);

  const json = {
    ...benchJson(engine.adapter, rows, timingText, notes, profile?.rows),
    ...(census ? { census: { preset: profiledPreset, dispatches: Object.fromEntries(census) } } : {}),
    ...(torch ? { torch } : {}),
    ...(coldStartResults ? { coldStart: coldStartJson(coldStartResults) } : {}),
    ...(hostSplit ? { hostSplit: hostSplitJson(hostSplit) } : {}),
    tuning: tuner.results,
    tuningSpent: tuner.spent,
    sectionSeconds,
  };
  // A filtered or quick run must not overwrite the full results kept for the adapter (bench/results is tracked).
  const slug = adapterSlug(engine.adapter) + (options.filters.length || options.quick ? '-partial' : '');
  await mkdir(options.outDir, { recursive: true });
  const written: string[] = [];
  const write = async (file: string, content: string | null) => {
    if (content === null) return;
    await writeFile(join(options.outDir, file), content);
    written.push(join(options.outDir, file));
  };
  await write(`bench-${slug}.json`, JSON.stringify(json, null, 2) + '\n');
  await write(`bench-${slug}.svg`, ratioChart(rows, adapter));
  await write(`bench-${slug}-gflops.svg`, throughputChart(rows, adapter));
  console.log(`wrote ${written.join(', ')}`);

  console.log(`\n${targetLines(json, checkTargets(json)).join('\n')}`);
  const failed = rows.filter((r) => 'failed' in r).length;
  if (failed) console.log(`${failed} case(s) FAILED (see above)`);
  if (options.json) console.log(JSON.stringify(json));
  return failed ? 1 : 0;
}

/** Times our finished GEMM and model cases in PyTorch, adds torchMs and torchRatio to their rows and prints
 * them as a table of their own. The script is stopped where the run's --budget ends (`budgetLeft`). */
async function torchColumn(rows: Row[], models: ModelCase[], timing: TimingOptions, budgetLeft: () => number): Promise<Omit<TorchRun, 'results'> | { missing: string }> {
  const found = torchPython();
  if ('missing' in found) return found;
  if (budgetLeft() <= 0) return { missing: '--budget was spent' };
  const done = rows.filter((r): r is CaseResult => !isFailed(r));
  const cases = done.flatMap((r): TorchCase[] => {
    const model = models.find((m) => m.name === r.name);
    const c = model ? torchModelCase(model) : gemmTorchCase(r.name);
    return c ? [c] : [];
  });
  console.log(`\nPyTorch (${found.python}): ${cases.length} cases`);
  const timeout = childTimeout(Infinity, budgetLeft);
  let run: TorchRun;
  try {
    run = runTorch(found.python, cases, timing, timeout.timeoutMs);
  } catch (e) {
    throw new Error(childFailure(e, timeout));
  }
  const { results, ...about } = run;
  console.log(`PyTorch ${run.torch} on ${run.device} (${run.threads} threads), fp32, TF32 off`);
  console.log('case'.padEnd(40) + 'ours ms'.padStart(11) + 'torch ms'.padStart(11) + 'torch/ours'.padStart(12));
  for (const r of done) {
    const ms = results[r.name];
    if (ms === undefined) continue;
    r.torchMs = ms;
    r.torchRatio = ms / r.ms;
    console.log(r.name.padEnd(40) + r.ms.toPrecision(4).padStart(11) + ms.toPrecision(4).padStart(11) + `${r.torchRatio.toFixed(2)}x`.padStart(12));
  }
  for (const [name, error] of Object.entries(run.failed ?? {})) console.log(`${name.padEnd(40)}PyTorch FAILED: ${error}`);
  return about;
}

/** e.g. "gemm 4096x4096x4096: tiled 128x128 8x8 k8 2.61 ms 52.7 TFLOP/s | tiled 64x64 4x4 k16 4.90 ms 28.0 TFLOP/s":
 * the chosen candidate first, the others fastest first, with the rate where the problem names its FLOPs. */
function formatTuning(r: TuningResult): string {
  const flops = problemFlops(r.problem);
  const rate = (ms: number) => {
    if (!flops) return '';
    const gflops = flops / (ms * 1e6);
    return gflops >= 1000 ? ` ${(gflops / 1000).toPrecision(3)} TFLOP/s` : ` ${gflops.toPrecision(3)} GFLOP/s`;
  };
  const text = (name: string) => (Number.isFinite(r.ms[name]) ? `${r.ms[name].toPrecision(3)} ms${rate(r.ms[name])}` : 'failed');
  const others = Object.keys(r.ms)
    .filter((n) => n !== r.chosen)
    .sort((a, b) => r.ms[a] - r.ms[b]);
  const retimed = r.retimed ? ' (timed again: the first sweep ran during a slowdown)' : '';
  return `  ${r.problem}${retimed}: ${[r.chosen, ...others].map((n) => `${n} ${text(n)}`).join(' | ')}`;
}

/** Multiply-adds ×2 of a tuned problem: a GEMM's 2·M·N·K ("gemm MxNxK ..."), a convolution pass's
 * 2·N·Cout·Lout·Cin·K (the same for all three passes); null for other problems. */
function problemFlops(problem: string): number | null {
  const gemm = /^gemm (\d+)x(\d+)x(\d+)/.exec(problem);
  if (gemm) return 2 * Number(gemm[1]) * Number(gemm[2]) * Number(gemm[3]);
  const conv = /x\[(\d+),(\d+),\d+\] w\[(\d+),\d+,(\d+)\] y\[\d+,\d+,(\d+)\]/.exec(problem);
  if (conv) return 2 * [1, 2, 3, 4, 5].reduce((p, i) => p * Number(conv[i]), 1);
  return null;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(2);
  },
);
