// Kernel choice by measurement, as cuDNN's benchmark mode does it. A kernel family with several ways to do a
// problem (tile sizes, tiled or direct convolution) asks `choose` each time it runs one. With tuning on, a known
// problem gets its measured winner and an unknown one the family's rule-based choice, and is queued; with
// tuning off, every problem gets the rule.
// Kernels are dispatched synchronously inside ops, so the timing cannot happen there: the training loop (and
// the benchmark) await `tune()` between steps, which times every candidate of each queued problem on fresh
// inputs of its shape and keeps the fastest. Choices are keyed by the problem's shapes and can be saved and
// loaded (`choices()`, `load()`), so a tuning run is paid once per adapter (src/cli/tuning-file.ts keeps them in a file).
//
// Tuning is on by default only where it pays: on GPUs each candidate compiles in milliseconds; on CPU drivers
// (lavapipe: seconds per pipeline) the rules, measured there, are used instead.

import type { GpuRuntime } from './runtime.js';

/** One way to run a problem. */
export interface Candidate<T> {
  name: string;
  value: T;
}

/** A problem ready to time: inputs of its shape on the device, and a run of candidate `i` on them. */
export interface Trial {
  run(candidate: number): void;
  dispose(): void;
}

interface Queued {
  names: string[];
  trial: () => Trial;
}

export interface TuningResult {
  problem: string;
  /** Median milliseconds per run of each candidate, by name (Infinity where it failed). */
  ms: Record<string, number>;
  chosen: string;
}

/** Bumped when candidate names change meaning, so that saved choices of an older version are not reused. */
export const TUNING_VERSION = 1;

/** Runs per timed sample: enough that a queue sync's round trip is a small part of it. */
const SAMPLE_MS = 4;
const MAX_RUNS = 64;
const SAMPLES = 3;

export class Tuner {
  enabled = false;
  /** Called after each tuning pass that recorded choices (the CLI saves them there, so a killed run keeps them). */
  onTuned: ((results: TuningResult[]) => Promise<void>) | null = null;
  private chosen = new Map<string, string>();
  private queued = new Map<string, Queued>();
  readonly results: TuningResult[] = [];

  /** Adds choices saved by `choices()` in an earlier run on the same adapter. */
  load(saved: Record<string, string>): void {
    for (const [problem, name] of Object.entries(saved)) if (typeof name === 'string') this.chosen.set(problem, name);
  }

  /** With tuning on, the measured winner for `problem` if known, else `fallback` with the problem queued for
   * `tune()`. With tuning off, always `fallback` (the rule), so that an untuned run is reproducible anywhere;
   * `candidates` and `trial` are then not even called (a small kernel's dispatch stays cheap). */
  choose<T>(problem: string, fallback: T, candidates: () => Candidate<T>[], trial: (candidates: Candidate<T>[]) => Trial): T {
    if (!this.enabled) return fallback;
    const list = candidates();
    const name = this.chosen.get(problem);
    const known = name === undefined ? undefined : list.find((c) => c.name === name);
    if (known) return known.value;
    if (list.length > 1 && !this.queued.has(problem)) this.queued.set(problem, { names: list.map((c) => c.name), trial: () => trial(list) });
    return fallback;
  }

  get pending(): number {
    return this.queued.size;
  }

  /** Times the queued problems' candidates and records the winners. */
  async tune(rt: GpuRuntime): Promise<TuningResult[]> {
    const done: TuningResult[] = [];
    // The trials are not the workload: keep them out of the profiler's table.
    await rt.sync();
    const profiler = rt.profiler;
    rt.profiler = null;
    try {
      await this.runQueued(rt, done);
    } finally {
      rt.profiler = profiler;
    }
    this.results.push(...done);
    if (done.length && this.onTuned) await this.onTuned(done);
    return done;
  }

  private async runQueued(rt: GpuRuntime, done: TuningResult[]): Promise<void> {
    for (const [problem, { names, trial }] of this.queued) {
      this.queued.delete(problem);
      const t = trial();
      const ms: Record<string, number> = {};
      try {
        for (let i = 0; i < names.length; i++) ms[names[i]] = await time(rt, () => t.run(i));
      } finally {
        t.dispose();
        await rt.sync();
      }
      const chosen = names.reduce((best, n) => (ms[n] < ms[best] ? n : best), names[0]);
      if (ms[chosen] === Infinity) continue; // every candidate failed: the rule's choice stays
      this.chosen.set(problem, chosen);
      done.push({ problem, ms, chosen });
    }
  }

  /** Every recorded choice, to save and `load()` in a later run. */
  choices(): Record<string, string> {
    return Object.fromEntries(this.chosen);
  }
}

/** Median time per run of `run`; Infinity where the candidate fails (e.g. a grid past the device's limits). */
async function time(rt: GpuRuntime, run: () => void): Promise<number> {
  try {
    run(); // compiles the pipeline
    await rt.sync();
    let runs = 1;
    const samples: number[] = [];
    while (samples.length < SAMPLES) {
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) run();
      await rt.sync();
      const elapsed = performance.now() - t0;
      if (elapsed < SAMPLE_MS && runs < MAX_RUNS) {
        runs = Math.min(MAX_RUNS, runs * 4);
        continue;
      }
      samples.push(elapsed / runs);
    }
    return samples.sort((a, b) => a - b)[SAMPLES >> 1];
  } catch {
    return Infinity;
  }
}
