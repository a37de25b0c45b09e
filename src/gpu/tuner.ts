// Kernel choice by measurement, as cuDNN's benchmark mode does it. A kernel family with several variants for a
// problem (tile sizes; the direct, subgroup or tiled convolution) asks `choose` each time it runs one, handing
// over its rule's variant, every variant it has for the problem, and the lengths of the problem's inputs. With
// tuning on, a known problem gets its measured winner and an unknown one the rule's variant, and is queued;
// with tuning off, every problem gets the rule.
// Kernels are dispatched synchronously inside ops, so the timing cannot happen there: the runtime tunes the
// queued problems itself the next time the host waits on the device (`sync`, `read`), timing every variant on
// inputs of the problem's shape holding random values, not zeros (storage.ts: trialInputs), by the device's
// timestamps where it has them, and keeping the fastest.
// Choices are keyed by the problem's shapes and can be saved and loaded (`choices()`, `load()`), so a tuning run
// is paid once per adapter (src/cli/tuning-file.ts keeps them in a file, src/gpu/tuning-store.ts in a page).
//
// Tuning is on by default only where it pays: on GPUs each candidate compiles in milliseconds; on CPU drivers
// (lavapipe: seconds per pipeline) the rules, measured there, are used instead.

import type { GpuRuntime } from './runtime.js';
import { trialInputs, type GpuStorage } from './storage.js';

/** One way to run a problem: a kernel with its launch configuration, on inputs of the problem's shapes. */
export interface Variant {
  name: string;
  run(inputs: GpuStorage[]): GpuStorage;
}

interface Queued {
  variants: Variant[];
  inputs: number[];
  /** The rule's variant, which runs until the problem is tuned. */
  rule: string;
}

export interface TuningResult {
  problem: string;
  /** Median milliseconds per run of each candidate, by name (Infinity where it failed). */
  ms: Record<string, number>;
  chosen: string;
  /** The candidates were timed a second time, the first sweep having run during a slowdown of the device. */
  retimed?: boolean;
}

/** Bumped when candidate names change meaning or new candidates join (a saved choice never meets them), so that
 * saved choices of an older version are not reused. 3: split reductions and 64×64 tiles of 8×8; 4: block staging
 * of k-adjacent operands (GEMMs from 1024³); 5: the convolutions' tiles stage quads (the scalar staging is named
 * `scalar`); 6: 64×128 of 8×8 with 16-deep slabs, 64×64 of 8×4 and 4×8, and GEMMs whose operands along k are
 * transposed first (`transposed`) join, the blocks (`kb`) go; 7: candidates are timed on the device's clock,
 * and the convolutions' scalar staging reads through the quads' element helpers; 8: 64×32 of 8×4 and the big
 * convolution forwards' tiles with w transposed first (`transposed`) join, 32×64 of 4×8 goes; 9: the
 * convolutions' sliced reductions (`sliced2`, `sliced4`) join; 10: the forwards transposed first from 2^28, sliced
 * ones too; 11: candidates are timed on random values, not zeros. */
export const TUNING_VERSION = 11;

/** Runs per timed sample: enough that the clock's grain (a browser rounds timestamps to 0.1 ms) or, without
 * timestamps, a queue sync's round trip is a small part of it. */
const SAMPLE_MS = 4;
const MAX_RUNS = 64;
const SAMPLES = 3;
/** The candidates leading after SAMPLES rounds run this many more rounds among themselves, so that the winner
 * is picked on 7 samples where candidates come close (on the H200, 3 samples put the 16x64x3000 convolution's
 * 64×64 tile fourth, at 0.167 ms, where a sweep of 5 samples had it first, at 0.123). */
const FINALISTS = 3;
const FINAL_ROUNDS = 4;
/** A finalist whose final rounds took under this share of its leading rounds' time ran slowed in those (see
 * `sweep`). */
const RECOVERED = 0.75;

export class Tuner {
  private on = false;
  /** Counts the changes of what `choose` may return (a choice recorded or loaded, tuning turned on or off): a
   * recorded step (./step-recording.ts) made at another revision runs kernels chosen before, and is recorded again. */
  revision = 0;
  get enabled(): boolean {
    return this.on;
  }
  set enabled(on: boolean) {
    if (on !== this.on) this.revision++;
    this.on = on;
  }
  /** Called after each tuning pass that recorded choices (the CLI saves them there, so a killed run keeps them). */
  onTuned: ((results: TuningResult[]) => Promise<void>) | null = null;
  private chosen = new Map<string, string>();
  /** The chosen variant of each problem once built: a step asks for the same problems every time, and building
   * every candidate (a closure and a name each) to find the chosen one was host time on every dispatch. A
   * family's problem key must therefore name everything its variants capture besides their inputs. */
  private resolved = new Map<string, Variant>();
  private queued = new Map<string, Queued>();
  readonly results: TuningResult[] = [];
  /** Where tuning's time went, over every pass: its candidates' compiles and their trials (calibration and
   * sweep). A first run on a GPU pays both before its first step finishes, so they are reported (the benchmark's
   * cold start and tuning lines). */
  readonly spent = { candidates: 0, compileMs: 0, trialMs: 0 };

  /** Adds choices saved by `choices()` in an earlier run on the same adapter. */
  load(saved: Record<string, string>): void {
    this.resolved.clear();
    this.revision++;
    for (const [problem, name] of Object.entries(saved)) if (typeof name === 'string') this.chosen.set(problem, name);
  }

  /** With tuning on, the measured winner for `problem` if known, else the rule's variant with the problem queued
   * (when it has more than one variant). With tuning off, always the rule's, so that an untuned run is
   * reproducible anywhere; `variants` is then not even called (a small kernel's dispatch stays cheap). Both are
   * thunks: once a problem's winner is kept, a dispatch neither works out the rule nor lists the candidates.
   * `inputs`: the problem's inputs, whose lengths the trials' inputs get (read only when the problem is queued). */
  choose(problem: string, rule: () => Variant, variants: () => Variant[], inputs: readonly { length: number }[]): Variant {
    if (!this.enabled) return rule();
    const resolved = this.resolved.get(problem);
    if (resolved) return resolved;
    const list = variants();
    const name = this.chosen.get(problem);
    const known = name === undefined ? undefined : list.find((v) => v.name === name);
    if (known) {
      this.resolved.set(problem, known);
      return known;
    }
    const fallback = rule();
    if (list.length > 1 && !this.queued.has(problem)) this.queued.set(problem, { variants: list, inputs: inputs.map((s) => s.length), rule: fallback.name });
    return fallback;
  }

  /** Keeps each queued problem's rule as its choice, untimed: for a runtime whose device must run no trials (the
   * benchmark's host split on a GPU's kernels, where nothing runs at all). */
  keepRules(): void {
    for (const [problem, { rule }] of this.queued) this.chosen.set(problem, rule);
    this.queued.clear();
    this.revision++;
  }

  /** The variant kept for `problem` once chosen (see `resolved`), if any: a dispatch looks it up before it builds
   * the thunks that `choose` takes (closures a call: on a GPU's path, the largest share of a step's garbage). */
  known(problem: string): Variant | undefined {
    return this.enabled ? this.resolved.get(problem) : undefined;
  }

  get pending(): number {
    return this.queued.size;
  }

  /** Times the queued problems' variants and records the winners. The runtime calls it (GpuRuntime.tune),
   * with its own workload finished and its profiler set aside. */
  async tune(rt: GpuRuntime): Promise<TuningResult[]> {
    const done: TuningResult[] = [];
    const problems = [...this.queued];
    this.queued.clear();
    // Every candidate's pipelines first, compiled together (GpuRuntime.precompile): one by one, the compiles
    // were most of a tuning pass on a GPU. A candidate that fails here fails again, and is timed as failed, below.
    // The precompile runs none of the candidates' dispatches, but their clears and copies are recorded and run:
    // they write buffers the candidates allocate, never their inputs, so the trial inputs serve the trials after.
    const inputs = problems.map(([, { inputs }]) => trialInputs(rt, inputs, 'tuning trial'));
    const started = performance.now();
    let compiled = started;
    try {
      await rt.precompile(() =>
        problems.forEach(([, { variants }], i) =>
          variants.forEach((v) => {
            try {
              rt.release(v.run(inputs[i]).buffer);
            } catch {
              // timed as failed below
            }
          }),
        ),
      );
      compiled = performance.now();
      for (const [i, [problem, { variants, rule }]] of problems.entries()) {
        const times = await timeInterleaved(rt, variants.map((v) => () => rt.release(v.run(inputs[i]).buffer)));
        const ms = Object.fromEntries(variants.map((v, j) => [v.name, times.ms[j]]));
        const chosen = variants.reduce((best, v) => (ms[v.name] < ms[best] ? v.name : best), variants[0].name);
        // Where every candidate failed the rule's variant is recorded as the choice: the queue is cleared, so
        // the next `choose` would queue the problem again, and every later wait compile and calibrate it again.
        this.chosen.set(problem, ms[chosen] === Infinity ? rule : chosen);
        this.resolved.delete(problem);
        this.revision++;
        if (ms[chosen] === Infinity) continue;
        done.push({ problem, ms, chosen, ...(times.retimed ? { retimed: true } : {}) });
      }
    } finally {
      inputs.flat().forEach((s) => rt.release(s.buffer));
      await rt.settle();
      this.spent.candidates += problems.reduce((n, [, { variants }]) => n + variants.length, 0);
      this.spent.compileMs += compiled - started;
      this.spent.trialMs += performance.now() - compiled;
    }
    this.results.push(...done);
    if (done.length && this.onTuned) await this.onTuned(done);
    return done;
  }

  /** Every recorded choice, to save and `load()` in a later run. */
  choices(): Record<string, string> {
    return Object.fromEntries(this.chosen);
  }
}

/** Median time per run of each candidate, in their order; Infinity where one fails (e.g. a grid past the
 * device's limits). Each candidate is first calibrated alone (compiled, run once, its runs per sample found),
 * then `sweep` times them. */
async function timeInterleaved(rt: GpuRuntime, runs: Array<() => void>): Promise<{ ms: number[]; retimed: boolean }> {
  const perSample: number[] = [];
  for (const run of runs) perSample.push(await calibrate(rt, run));
  return sweep(runs.length, (i) => {
    if (perSample[i] === 0) throw new Error('the candidate failed its calibration');
    return sample(rt, runs[i], perSample[i]);
  });
}

/** Times `count` candidates (`sampleOf(i)`: one sample of candidate i, ms per run; a throw marks it failed):
 * SAMPLES rounds of one sample each, then FINAL_ROUNDS more among the FINALISTS leading, the medians returned.
 * Round by round, as the benchmark alternates engines: a transient slowdown of the GPU (its clock, another
 * process) then costs every candidate one sample, rather than all the samples of whichever ran then (the H100's
 * sweep had a 0.15 ms kernel timed at 2.7 ms, once). A slowdown that outlasts the leading rounds still slows
 * every candidate there, and the finalists are then picked on noise: on the H100 most candidates of three
 * convolutions were timed 2.8-3.5× their usual time, the finalists alone back to theirs in the final rounds. So
 * where every finalist ran under RECOVERED of its leading time in the final rounds, all are timed again, once
 * (`retimed`). */
export async function sweep(count: number, sampleOf: (i: number) => Promise<number>): Promise<{ ms: number[]; retimed: boolean }> {
  const failed = new Set<number>();
  const candidates = [...Array(count).keys()];
  for (let attempt = 0; ; attempt++) {
    const samples: number[][] = candidates.map(() => []);
    const rounds = async (among: number[], n: number) => {
      for (let round = 0; round < n; round++) {
        for (const i of among) {
          if (failed.has(i)) continue;
          try {
            samples[i].push(await sampleOf(i));
          } catch {
            failed.add(i);
          }
        }
      }
    };
    /** Each candidate's median over its samples from the `from`th on. */
    const medians = (from = 0) => samples.map((s, i) => (failed.has(i) || s.length <= from ? Infinity : median(s.slice(from))));
    await rounds(candidates, SAMPLES);
    const leading = medians();
    const finalists = candidates.filter((i) => leading[i] < Infinity).sort((a, b) => leading[a] - leading[b]).slice(0, FINALISTS);
    if (finalists.length < 2) return { ms: medians(), retimed: attempt > 0 };
    await rounds(finalists, FINAL_ROUNDS);
    const final = medians(SAMPLES);
    const recovered = finalists.every((i) => final[i] < RECOVERED * leading[i]);
    if (!recovered || attempt > 0) return { ms: medians(), retimed: attempt > 0 };
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Runs per sample for `run` (enough that a sample lasts SAMPLE_MS, at most MAX_RUNS); 0 where it fails. The
 * count chosen is sampled too, so that the timed rounds find the bind groups of all its runs made. */
async function calibrate(rt: GpuRuntime, run: () => void): Promise<number> {
  try {
    run(); // compiles the pipeline
    await rt.settle();
    for (let runs = 1; ; runs = Math.min(MAX_RUNS, runs * 4)) {
      if ((await sample(rt, run, runs)) * runs >= SAMPLE_MS || runs === MAX_RUNS) return runs;
    }
  } catch {
    return 0;
  }
}

/** Milliseconds per run over `runs` runs: on the device's clock where it has timestamps (the host's recording
 * and the queue's round trip are not the kernel's), else from the first run's recording to the queue's sync.
 * The device's clock leaves out the host's cost of a candidate's extra dispatches (a split's sum, a transpose),
 * which a training step bound by the host pays: such candidates are offered only where their kernels' time
 * dwarfs a dispatch's recording (splits keep at least 256 of K, transposes start at 1024³; gemm.ts). */
async function sample(rt: GpuRuntime, run: () => void, runs: number): Promise<number> {
  const record = () => {
    for (let i = 0; i < runs; i++) run();
  };
  if (rt.profile.timestamps) return (await rt.timeOnDevice(record)) / runs;
  const t0 = performance.now();
  record();
  await rt.settle();
  return (performance.now() - t0) / runs;
}
