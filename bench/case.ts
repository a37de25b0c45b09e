// A benchmark case: one kernel (or composite step) at one shape, run by our engine and by TensorFlow.js on
// inputs already on the device. `runCase` checks both results against the CPU reference, then times both.
// TensorFlow.js failing at a case (its kernel rejects the shape, it runs out of memory, its result is wrong) costs
// the row its tfjs columns alone (`tfjsFailed`): ours is still checked and timed. Our failure fails the row.

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
  /** Where set, every Inputs made with this context: a prepare that throws halfway has them released. */
  inputs?: Inputs[];
}

/** Host arrays uploaded to both engines; released together. */
export class Inputs {
  private storages: Storage[] = [];
  private tensors: TF.Tensor[] = [];
  constructor(private ctx: BenchContext) {
    ctx.inputs?.push(this);
  }
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
  /** Why TensorFlow.js failed at this case (failureText): tfjsMs and ratio are then null, the rest is ours. */
  tfjsFailed?: string;
  gflops?: number;
  gbps?: number;
  tfjsGflops?: number;
  tfjsGbps?: number;
  /** Runs per timed sample (see timing.ts), ours and tfjs. */
  batch: number;
  tfjsBatch?: number;
  /** Every timed sample's ms per run, round by round (see Timing), ours and tfjs: the spread behind the medians. */
  samples: number[];
  tfjsSamples?: number[];
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

/** `what` names the result in the error, e.g. "conv1d.fwd ...: our result". */
function worst(results: CheckResult[], what: string): number {
  const bad = results.find((r) => !r.ok);
  if (bad) throw new CheckError(`${what} does not match the CPU reference (${bad.label}, relative error ${bad.error.toExponential(2)})`);
  return Math.max(0, ...results.map((r) => r.error));
}

/** An error as a row's tfjs cell gives it: its first line, cut short (tfjs's messages can run to paragraphs). */
export function failureText(e: unknown): string {
  const line = `${(e as Error)?.message ?? e}`.split('\n')[0];
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/** Checks ours, then tfjs's: a failure of ours throws (CheckError where the result is wrong); one of tfjs's is
 * returned as tfjsFailed, so that the row keeps our result. */
export async function checkCase(c: KernelCase, p: Prepared, ctx: BenchContext): Promise<{ error: number; tfjsError?: number; tfjsFailed?: string }> {
  const tol = c.tol ?? 1e-3;
  const wants = new Map<Expectation, ArrayLike<number>>();
  const want = (e: Expectation) => {
    if (!wants.has(e)) wants.set(e, e.want());
    return wants.get(e)!;
  };
  const outs = p.ours();
  const ours = await Promise.all(outs.map((s) => ctx.backend.download(s)));
  outs.forEach((s) => ctx.backend.release(s));
  const error = worst(p.expect.map((e) => compare(`ours ${e.label}`, e.pick(ours[e.output]), want(e), tol)), `${c.name}: our result`);
  if (!ctx.tf || !p.tfjs) return { error };
  try {
    const tensors = p.tfjs();
    try {
      const theirs = await Promise.all(tensors.map(async (t, i) => (p.tfjsToOurs?.[i] ?? ((d: Float32Array) => d))((await t.data()) as Float32Array)));
      return { error, tfjsError: worst(p.expect.map((e) => compare(`tfjs ${e.label}`, e.pick(theirs[e.output]), want(e), tol)), 'the result') };
    } finally {
      tensors.forEach((t) => t.dispose());
    }
  } catch (e) {
    return { error, tfjsFailed: failureText(e) };
  }
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

/** tfjs's side of a timing, made to fail alone: its first error is kept in `failed` and its later runs and syncs
 * do nothing, so that `measure`, which times the engines in alternation, goes on timing ours (as with --no-tfjs
 * from then on); the Timing it returns for this workload is then meaningless. A run that does not fail stays
 * synchronous where `w.run` is, so that the guard adds no await to tfjs's timed runs. */
export function failingAlone(w: Workload): Workload & { failed?: string } {
  const guarded: Workload & { failed?: string } = {
    run: () => {
      if (guarded.failed !== undefined) return;
      try {
        const done = w.run();
        if (done instanceof Promise) return done.catch(fail);
      } catch (e) {
        fail(e);
      }
    },
    sync: () => (guarded.failed !== undefined ? Promise.resolve() : w.sync().catch(fail)),
  };
  const fail = (e: unknown) => void (guarded.failed = failureText(e));
  return guarded;
}

/** What every result row says of a timing: our time, TensorFlow.js's where it ran, their ratio, the batches;
 * where tfjs failed, why (`theirs` is then null). */
export function timedResult(c: { name: string; label: string }, ours: Timing, theirs: Timing | null, tfjsFailed?: string) {
  const ratioRange = theirs ? ratioByRound(ours, theirs) : null;
  return { name: c.name, label: c.label, ms: ours.ms, tfjsMs: theirs?.ms ?? null, ratio: theirs ? theirs.ms / ours.ms : null, ...(ratioRange ? { ratioRange } : {}), ...(tfjsFailed !== undefined ? { tfjsFailed } : {}), batch: ours.batch, tfjsBatch: theirs?.batch, samples: ours.samples, ...(theirs ? { tfjsSamples: theirs.samples } : {}) };
}

/** The case's inputs on both engines. tfjs's are made in the same prepare as ours (and some run a tfjs kernel,
 * e.g. max pooling's forward output for its gradient), so where that throws with tfjs on, the case is prepared
 * again without tfjs: if ours then prepares, tfjs failed alone; if not, the case fails with our error. */
function prepareCase(c: KernelCase, ctx: BenchContext): { p: Prepared; tfjsFailed?: string } {
  const attempt = (tf: Tfjs | null) => {
    const inputs: Inputs[] = [];
    try {
      return c.prepare({ ...ctx, tf, inputs });
    } catch (e) {
      inputs.forEach((i) => i.dispose());
      throw e;
    }
  };
  try {
    return { p: attempt(ctx.tf) };
  } catch (e) {
    if (!ctx.tf) throw e;
    return { p: attempt(null), tfjsFailed: failureText(e) };
  }
}

/** Checks both engines against the reference, then times both. Throws where ours fails (CheckError on a wrong
 * result); a failure of tfjs's is the row's tfjsFailed. */
export async function runCase(c: KernelCase, ctx: BenchContext, o: TimingOptions): Promise<CaseResult> {
  const prepared = prepareCase(c, ctx);
  const p = prepared.p;
  try {
    // Where tuning is on, a first run queues our candidate kernels for this shape and they are timed now, so
    // that the kernel checked below is the one timed.
    let tunedMs: number | undefined;
    if (ctx.engine.runtime?.tuner.enabled) {
      for (const s of p.ours()) ctx.backend.release(s);
      const tuned = await tunePending();
      if (tuned.length) tunedMs = tuned.reduce((sum, r) => sum + r.ms[r.chosen], 0);
    }
    const checked = await checkCase(c, p, ctx);
    const { error, tfjsError } = checked;
    // The check has just run the work once on each engine: that was the warm-up (compilation, uploads). tfjs is
    // timed only where it prepared and passed its check.
    const tfjs = ctx.tf && p.tfjs && checked.tfjsFailed === undefined ? failingAlone(tfjsWorkload(p, ctx.tf)) : null;
    const [ours, measured = null] = await measure([oursWorkload(p, ctx), ...(tfjs ? [tfjs] : [])], { ...o, warmup: 0 });
    const tfjsFailed = prepared.tfjsFailed ?? checked.tfjsFailed ?? tfjs?.failed;
    const theirs = tfjsFailed === undefined ? measured : null;
    const rate = (amount: number | undefined, ms: number | undefined) => (amount && ms ? amount / (ms * 1e6) : undefined);
    return {
      ...timedResult(c, ours, theirs, tfjsFailed),
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
