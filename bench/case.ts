// A benchmark case: one kernel (or composite step) at one shape, run by our engine and by TensorFlow.js on
// inputs already on the device. `runCase` checks both results against the CPU reference, then times both.

import type * as TF from '@tensorflow/tfjs-core';
import { tunePending, type Backend, type Engine, type Storage } from '../src/index.js';
import { compare, type CheckResult } from './check.js';
import { tfjsSync, type Tfjs } from './gpu.js';
import { measure, ratioByRound, type Timing, type TimingOptions, type Workload } from './timing.js';

export interface BenchContext {
  engine: Engine;
  backend: Backend;
  /** null with --no-tfjs. */
  tf: Tfjs | null;
}

/** Host arrays uploaded to both engines; released together. */
export class Inputs {
  private storages: Storage[] = [];
  private tensors: TF.Tensor[] = [];
  constructor(private ctx: BenchContext) {}
  ours(data: Float32Array): Storage {
    const s = this.ctx.backend.upload(data);
    this.storages.push(s);
    return s;
  }
  tfjs(data: Float32Array, shape: number[]): TF.Tensor {
    const t = this.ctx.tf!.tensor(data, shape);
    this.tensors.push(t);
    return t;
  }
  /** Releases s with the inputs (a result computed once, outside timing). */
  adoptOurs(s: Storage): Storage {
    this.storages.push(s);
    return s;
  }
  /** Disposes t with the inputs (a tfjs tensor computed once, outside timing). */
  adopt(t: TF.Tensor): TF.Tensor {
    this.tensors.push(t);
    return t;
  }
  dispose(): void {
    this.storages.forEach((s) => this.ctx.backend.release(s));
    this.tensors.forEach((t) => t.dispose());
  }
}

/** One output (of ours, and of tfjs brought back to our layout) compared with a reference sub-result. */
export interface Expectation {
  output: number;
  label: string;
  /** The part of the full output the reference computed (all of it, or a few rows/channels). */
  pick(full: Float32Array): ArrayLike<number>;
  want(): ArrayLike<number>;
}

export interface Prepared {
  /** Records one instance of the work; the caller releases the outputs. */
  ours(): Storage[];
  /** Runs one instance in tfjs; the caller disposes the outputs. */
  tfjs?(): TF.Tensor[];
  /** tfjs's outputs in our layout, by output index (identity where absent). */
  tfjsToOurs?: ((data: Float32Array) => Float32Array)[];
  expect: Expectation[];
  dispose(): void;
}

export interface KernelCase {
  name: string;
  /** A short name for the chart's axis, e.g. "conv1 bwdW". */
  label: string;
  /** Floating-point operations of one run (multiply-add = 2), for GFLOP/s. */
  flops?: number;
  /** Bytes one run must move at least, for GB/s (memory-bound kernels). */
  bytes?: number;
  /** Allowed max error relative to the output's largest magnitude. */
  tol?: number;
  prepare(ctx: BenchContext): Prepared;
}

export interface CaseResult {
  name: string;
  label: string;
  ms: number;
  tfjsMs: number | null;
  /** tfjsMs / ms: above 1, ours is faster. */
  ratio: number | null;
  /** The lowest and highest tfjs/ours of a timing round (see ratioByRound in timing.ts). */
  ratioRange?: [number, number];
  gflops?: number;
  gbps?: number;
  tfjsGflops?: number;
  tfjsGbps?: number;
  /** Runs per timed sample (see timing.ts), ours and tfjs. */
  batch: number;
  tfjsBatch?: number;
  /** Worst relative error of the checks, ours and tfjs. */
  error: number;
  tfjsError?: number;
  /** Composite cases (a training step, an inference batch): dispatches one run records, exactly, and the host
   * time of one run (recording and submitting; see measureHost in timing.ts). */
  dispatches?: number;
  hostMs?: number;
  /** The lowest and highest round of the host measurement (ms per run). */
  hostMsRange?: [number, number];
  /** The host time of a run right after the queue went idle (HostCost.afterIdleMs). */
  hostAfterIdleMs?: number;
  hostClock?: 'thread-cpu' | 'wall';
  /** PyTorch's median ms (--torch), and torchMs / ms (above 1, ours is faster). */
  torchMs?: number;
  torchRatio?: number;
  /** Extra figures of composite cases, e.g. utterances per second. */
  extra?: Record<string, number>;
  /** What the tuner measured for the kernels it chose for one run, where it tuned them in this run (the sum of
   * their chosen candidates' medians): beside `ms`, it shows whether the tuner's clock agrees with the
   * benchmark's. */
  tunedMs?: number;
}

export class CheckError extends Error {}

function worst(results: CheckResult[], who: string, name: string): number {
  const bad = results.find((r) => !r.ok);
  if (bad) throw new CheckError(`${name}: ${who} result does not match the CPU reference (${bad.label}, relative error ${bad.error.toExponential(2)})`);
  return Math.max(0, ...results.map((r) => r.error));
}

export async function checkCase(c: KernelCase, p: Prepared, ctx: BenchContext): Promise<{ error: number; tfjsError?: number }> {
  const tol = c.tol ?? 1e-3;
  const wants = new Map<Expectation, ArrayLike<number>>();
  const want = (e: Expectation) => {
    if (!wants.has(e)) wants.set(e, e.want());
    return wants.get(e)!;
  };
  const outs = p.ours();
  const ours = await Promise.all(outs.map((s) => ctx.backend.download(s)));
  outs.forEach((s) => ctx.backend.release(s));
  const error = worst(p.expect.map((e) => compare(`ours ${e.label}`, e.pick(ours[e.output]), want(e), tol)), 'our', c.name);
  if (!ctx.tf || !p.tfjs) return { error };
  const tensors = p.tfjs();
  const theirs = await Promise.all(tensors.map(async (t, i) => (p.tfjsToOurs?.[i] ?? ((d: Float32Array) => d))((await t.data()) as Float32Array)));
  tensors.forEach((t) => t.dispose());
  const tfjsError = worst(p.expect.map((e) => compare(`tfjs ${e.label}`, e.pick(theirs[e.output]), want(e), tol)), 'the TensorFlow.js', c.name);
  return { error, tfjsError };
}

/** Our side of a case as a timing workload: one run records the work and releases its outputs. */
export function oursWorkload(p: Prepared, ctx: BenchContext): Workload {
  const runtime = ctx.engine.runtime!;
  return {
    run: () => {
      for (const s of p.ours()) ctx.backend.release(s);
    },
    sync: () => runtime.sync(),
  };
}

export function tfjsWorkload(p: Prepared, tf: Tfjs): Workload {
  return {
    run: () => {
      for (const t of p.tfjs!()) t.dispose();
    },
    sync: () => tfjsSync(tf),
  };
}

/** What every result row says of a timing: our time, TensorFlow.js's where it ran, their ratio, the batches. */
export function timedResult(c: { name: string; label: string }, ours: Timing, theirs: Timing | null) {
  const ratioRange = theirs ? ratioByRound(ours, theirs) : null;
  return { name: c.name, label: c.label, ms: ours.ms, tfjsMs: theirs?.ms ?? null, ratio: theirs ? theirs.ms / ours.ms : null, ...(ratioRange ? { ratioRange } : {}), batch: ours.batch, tfjsBatch: theirs?.batch };
}

/** Checks both engines against the reference, then times both. Throws CheckError on a wrong result. */
export async function runCase(c: KernelCase, ctx: BenchContext, o: TimingOptions): Promise<CaseResult> {
  const p = c.prepare(ctx);
  try {
    // Where tuning is on, a first run queues our candidate kernels for this shape and they are timed now, so
    // that the kernel checked below is the one timed.
    let tunedMs: number | undefined;
    if (ctx.engine.runtime?.tuner.enabled) {
      for (const s of p.ours()) ctx.backend.release(s);
      const tuned = await tunePending();
      if (tuned.length) tunedMs = tuned.reduce((sum, r) => sum + r.ms[r.chosen], 0);
    }
    const { error, tfjsError } = await checkCase(c, p, ctx);
    // The check has just run the work once on each engine: that was the warm-up (compilation, uploads).
    const workloads = [oursWorkload(p, ctx), ...(ctx.tf && p.tfjs ? [tfjsWorkload(p, ctx.tf)] : [])];
    const [ours, theirs = null] = await measure(workloads, { ...o, warmup: 0 });
    const rate = (amount: number | undefined, ms: number | undefined) => (amount && ms ? amount / (ms * 1e6) : undefined);
    return {
      ...timedResult(c, ours, theirs),
      gflops: rate(c.flops, ours.ms),
      gbps: rate(c.bytes, ours.ms),
      tfjsGflops: rate(c.flops, theirs?.ms),
      tfjsGbps: rate(c.bytes, theirs?.ms),
      error,
      tfjsError,
      tunedMs,
    };
  } finally {
    p.dispose();
    await ctx.engine.runtime!.sync();
  }
}
