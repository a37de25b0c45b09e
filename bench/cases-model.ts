// Whole-model cases: one training step (forward, loss, backward, Adam, as src/train/trainer.ts does it) and one
// inference batch (eval mode, softmax of both heads) of the SER model at a batch size of the case (16, and 64 for
// scale: --batch), ours (ser-ours.ts) against the same network in TensorFlow.js (ser-tfjs.ts), in windows
// (utterance windows) per second.
// Before timing a preset's first batch size, a batch of 2 is checked: our forward on the GPU against our CPU
// reference backend, tfjs's forward against the same, and the loss after one Adam step, ours against tfjs
// (gradients and optimiser); its other batch sizes run the same code and carry that check's errors.
// The batch stays on the device on both sides (no upload inside the timed step).
// TensorFlow.js failing (its check, building its twin, a timed step) costs the rows their tfjs columns alone
// (tfjsFailed, as in case.ts); ours is still timed.

import { formatProfile, init, tunePending, type KernelTime, type Tensor } from '../src/index.js';
import type { ModelConfig, ModelPreset } from '../src/model/config.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';
import { CheckError, failingAlone, failureText, timedResult, type BenchContext, type CaseResult } from './case.js';
import { compare } from './check.js';
import { tfjsSync, type Tfjs } from './gpu.js';
import { benchModelConfig, CLASSES, hostBatch, LR, OurSer } from './ser-ours.js';
import { disposeBatch, TfjsSer, tfjsBatch, type TfjsBatch } from './ser-tfjs.js';
import type { TorchCase } from './torch.js';
import { measure, measureHost, type TimingOptions, type Workload } from './timing.js';

/** The batch of the model cases, the census and the profile; the cold start steps it too. */
export const MODEL_BATCH = 16;
/** The batch sizes of the model cases unless --batch says otherwise: 64 too on a GPU (scale), 16 alone on a CPU
 * adapter, where a batch-64 step of the m5 model in tfjs takes most of a minute. */
export const modelBatches = (cpuAdapter: boolean): number[] => (cpuAdapter ? [MODEL_BATCH] : [MODEL_BATCH, 64]);

export interface ModelCase {
  name: string;
  label: string;
  preset: ModelPreset;
  mode: 'train' | 'infer';
  batch: number;
}

/** A model case for bench/torch_bench.py. */
export const torchModelCase = (c: ModelCase): TorchCase => ({ name: c.name, kind: c.mode, config: benchModelConfig(c.preset), batch: c.batch });

/** The presets benchmarked unless --model says otherwise. */
export const BENCH_PRESETS: ModelPreset[] = ['default', 'compact', 'm5', 'm5-compact'];

/** Whether the TensorFlow.js twin (ser-tfjs.ts) implements a preset: the M5 design only (no filter bank). */
export const tfjsImplements = (config: ModelConfig) => !config.frontEnd && config.pooling !== 'stats';

/** The cases of each preset, batch by batch; the chart's label names a batch other than MODEL_BATCH. */
export function modelCases(presets: ModelPreset[] = BENCH_PRESETS, batches: number[] = [MODEL_BATCH]): ModelCase[] {
  return presets.flatMap((preset) =>
    batches.flatMap((batch): ModelCase[] => {
      const suffix = batch === MODEL_BATCH ? '' : ` b${batch}`;
      return [
        { name: `train step ${preset} (batch ${batch})`, label: `train ${preset}${suffix}`, preset, mode: 'train', batch },
        { name: `inference ${preset} (batch ${batch})`, label: `infer ${preset}${suffix}`, preset, mode: 'infer', batch },
      ];
    }),
  );
}

async function values(t: Tensor): Promise<Float32Array> {
  const v = await t.toArray();
  t.dispose();
  return v;
}

function expectClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = 2e-3): number {
  const r = compare(label, got, want, tol);
  if (!r.ok) throw new CheckError(`${label} (relative error ${r.error.toExponential(2)})`);
  return r.error;
}

/** The batch-of-2 check described at the top; returns the worst relative errors (ours, tfjs), or why tfjs failed. */
async function checkModel(ctx: BenchContext, preset: ModelPreset, config: ModelConfig): Promise<ModelCheck> {
  const cfg = { ...config, dropout: 0 }; // the same weights (dropout draws none), and a deterministic forward pass
  const batch = hostBatch(2, cfg.windowSamples, 7);

  await init({ backend: 'cpu' });
  let cpuLoss: Float32Array;
  let cpuLogits: Float32Array;
  try {
    const cpu = new OurSer(cfg, batch);
    const [loss, logits] = cpu.lossAndLogits();
    [cpuLoss, cpuLogits] = [await values(loss), await values(logits)];
    cpu.dispose();
  } finally {
    await init(); // back to the GPU engine (the same device: init() keeps one per process)
  }

  const ours = new OurSer(cfg, batch);
  try {
    const state = await ours.model.stateDict();
    const [loss, logits] = ours.lossAndLogits();
    const what = `${preset} model, batch 2`;
    let error = expectClose(`${what}: our emotion logits vs the CPU reference`, await values(logits), cpuLogits);
    error = Math.max(error, expectClose(`${what}: our loss vs the CPU reference`, await values(loss), cpuLoss));
    if (!ctx.tf || !tfjsImplements(cfg)) return { error };
    const tf = ctx.tf;
    ours.step();
    const [ourLoss1, ourLogits1] = ours.lossAndLogits();
    ourLogits1.dispose();
    const afterStep = await values(ourLoss1);

    let tfjsError: number;
    let tfjsAfterStep: Float32Array;
    // A throw of tfjs's, or its forward pass off the reference, is tfjs's failure: our step then goes unchecked,
    // as with --no-tfjs.
    try {
      const net = new TfjsSer(tf, cfg, state, LR, DEFAULT_TRAIN_OPTIONS.genderLossWeight);
      let tb: TfjsBatch | undefined;
      try {
        tb = tfjsBatch(tf, batch.samples, batch.genders, batch.labels, batch.genderLabels, CLASSES.length);
        const [tLoss, tLogits] = net.lossAndLogits(tb);
        tfjsError = expectClose(`${what}: tfjs emotion logits vs the CPU reference`, (await tLogits.data()) as Float32Array, cpuLogits);
        tfjsError = Math.max(tfjsError, expectClose(`${what}: tfjs loss vs the CPU reference`, (await tLoss.data()) as Float32Array, cpuLoss));
        tf.dispose([tLoss, tLogits, net.step(tb)]);
        const [tLoss1, tLogits1] = net.lossAndLogits(tb);
        tfjsAfterStep = (await tLoss1.data()) as Float32Array;
        tf.dispose([tLoss1, tLogits1]);
      } finally {
        if (tb) disposeBatch(tf, tb);
        net.dispose();
      }
    } catch (e) {
      return { error, tfjsFailed: failureText(e) };
    }
    // Independent gradients and Adam on both sides: the same loss after one step says both are right. Both forward
    // passes matched the reference, so a difference here may be ours (this is our step's only check): it fails the row.
    expectClose(`${what}: loss after one Adam step, ours ${afterStep[0]} vs tfjs ${tfjsAfterStep[0]}`, afterStep, tfjsAfterStep, 1e-3);
    return { error, tfjsError };
  } finally {
    ours.dispose();
  }
}

/** The worst relative errors of a preset's batch-of-2 check, ours and tfjs's (NaN: not checked); tfjsFailed: why
 * tfjs failed it (then tfjs is not timed at the preset's batch sizes). */
export interface ModelCheck {
  error: number;
  tfjsError?: number;
  tfjsFailed?: string;
}

/** Both engines' copies of one preset at one batch size, checked, then timed in training and in inference. */
export class ModelBench {
  private constructor(
    private ctx: BenchContext,
    readonly preset: ModelPreset,
    readonly batchSize: number,
    private ours: OurSer,
    private theirs: { net: TfjsSer; batch: TfjsBatch } | null,
    readonly checked: ModelCheck,
    /** Why tfjs is not timed here: its check failed, or its twin could not be built at this batch size. */
    private tfjsFailed: string | undefined,
  ) {}

  /** check: true runs the batch-of-2 check; a ModelCheck is an earlier one of this preset (another batch size),
   * carried to these rows; false skips it (the profiler's extra run). */
  static async create(ctx: BenchContext, preset: ModelPreset, batchSize = MODEL_BATCH, check: boolean | ModelCheck = true): Promise<ModelBench> {
    const config = benchModelConfig(preset);
    const checked = check === true ? await checkModel(ctx, preset, config) : check || { error: NaN };
    const batch = hostBatch(batchSize, config.windowSamples, 3);
    const ours = new OurSer(config, batch);
    let theirs: { net: TfjsSer; batch: TfjsBatch } | null = null;
    let tfjsFailed = checked.tfjsFailed;
    if (ctx.tf && tfjsImplements(config) && tfjsFailed === undefined) {
      // A failure here fails the preset's rows (the caller's catch): ours is freed now, not at some collection,
      // since the rows after it still need the device's memory.
      const state = await ours.model.stateDict().catch((e: unknown) => {
        ours.dispose();
        throw e;
      });
      let net: TfjsSer | undefined;
      try {
        net = new TfjsSer(ctx.tf, config, state, LR, DEFAULT_TRAIN_OPTIONS.genderLossWeight);
        theirs = { net, batch: tfjsBatch(ctx.tf, batch.samples, batch.genders, batch.labels, batch.genderLabels, CLASSES.length) };
      } catch (e) {
        net?.dispose();
        tfjsFailed = failureText(e);
      }
    }
    return new ModelBench(ctx, preset, batchSize, ours, theirs, checked, tfjsFailed);
  }

  async run(c: ModelCase, o: TimingOptions): Promise<CaseResult> {
    if (c.preset !== this.preset || c.batch !== this.batchSize) throw new Error(`${c.name}: not this bench's preset and batch (${this.preset}, ${this.batchSize})`);
    const runtime = this.ctx.engine.runtime!;
    const workloads: Workload[] = [
      { run: c.mode === 'train' ? () => this.ours.step() : () => this.ours.predict().forEach((t) => t.dispose()), sync: () => runtime.sync() },
    ];
    let tfjs: ReturnType<typeof failingAlone> | null = null;
    if (this.theirs && this.ctx.tf) {
      const tf: Tfjs = this.ctx.tf;
      const { net, batch } = this.theirs;
      tfjs = failingAlone({ run: c.mode === 'train' ? () => net.step(batch).dispose() : () => tf.dispose(net.predict(batch)), sync: () => tfjsSync(tf) });
      workloads.push(tfjs);
    }
    // Where tuning is on, our first step queues the candidates of this batch's shapes (at batch 16 the kernel
    // cases have checked each winner at these shapes against the reference).
    workloads[0].run();
    await tunePending();
    const [ours, measured = null] = await measure(workloads, o);
    const tfjsFailed = this.tfjsFailed ?? tfjs?.failed;
    const theirs = tfjsFailed === undefined ? measured : null;
    // The host's share: dispatches recorded by one run (exact), and the host time of a run on an idle queue.
    const before = runtime.counts.dispatches;
    workloads[0].run();
    const dispatches = runtime.counts.dispatches - before;
    const host = await measureHost(workloads[0]);
    const perSecond = (ms: number) => (this.batchSize * 1000) / ms;
    return {
      ...timedResult(c, ours, theirs, tfjsFailed),
      dispatches,
      hostMs: host.ms,
      hostMsRange: host.range,
      hostAfterIdleMs: host.afterIdleMs,
      hostClock: host.clock,
      error: this.checked.error,
      tfjsError: this.checked.tfjsError,
      // batchSize: utterance windows per step (the result's `batch` is runs per timed sample).
      extra: { batchSize: this.batchSize, utterancesPerSecond: perSecond(ours.ms), ...(theirs ? { tfjsUtterancesPerSecond: perSecond(theirs.ms) } : {}) },
    };
  }

  /** The dispatches of one training step by kernel name, most first. */
  async census(): Promise<[string, number][]> {
    const runtime = this.ctx.engine.runtime!;
    this.ours.step();
    await runtime.sync();
    runtime.kernelCounts = new Map();
    try {
      this.ours.step();
      return [...runtime.kernelCounts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    } finally {
      runtime.kernelCounts = null;
      await runtime.sync();
    }
  }

  /** Our training step under the GPU timestamp profiler: per-kernel time, calls and share over `steps` steps.
   * The profiler stays on afterwards (the runtime has no switch to turn it off), so run this last. */
  async profile(steps: number): Promise<{ rows: KernelTime[]; text: string }> {
    const runtime = this.ctx.engine.runtime!;
    this.ours.step();
    await tunePending(); // before the profiler starts: the tuner's trials are not the workload
    const profiler = runtime.enableProfiler();
    await runtime.sync();
    await profiler.table();
    profiler.reset();
    for (let i = 0; i < steps; i++) this.ours.step();
    await runtime.sync();
    const rows = await profiler.table();
    return { rows, text: formatProfile(rows) };
  }

  async dispose(): Promise<void> {
    this.ours.dispose();
    if (this.theirs && this.ctx.tf) {
      disposeBatch(this.ctx.tf, this.theirs.batch);
      this.theirs.net.dispose();
    }
    await this.ctx.engine.runtime!.sync();
  }
}
