// Whole-model cases: one training step (forward, loss, backward, Adam, as src/train/trainer.ts does it) and one
// inference batch (eval mode, softmax of both heads) of the SER model, batch 16, ours against the same network
// in TensorFlow.js (ser-tfjs.ts), in windows (utterance windows) per second.
// Before timing, a batch of 2 is checked: our forward on the GPU against our CPU reference backend, tfjs's
// forward against the same, and the loss after one Adam step, ours against tfjs (gradients and optimiser).
// The batch stays on the device on both sides (no upload inside the timed step).

import { Adam, formatProfile, init, noGrad, softmax, tensor, tidy, tunePending, type KernelTime, type Tensor } from '../src/index.js';
import { MODEL_PRESETS, type ModelConfig, type ModelPreset } from '../src/model/config.js';
import { SerModel, serLoss } from '../src/model/ser-model.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';
import { CheckError, timedResult, type BenchContext, type CaseResult } from './case.js';
import { compare, randomArray } from './check.js';
import { tfjsSync, type Tfjs } from './gpu.js';
import { disposeBatch, TfjsSer, tfjsBatch, type TfjsBatch } from './ser-tfjs.js';
import type { TorchCase } from './torch.js';
import { measure, measureHost, type TimingOptions, type Workload } from './timing.js';

const CLASSES = ['angry', 'happy', 'neutral', 'sad'];
export const MODEL_BATCH = 16;
const SEED = 1;
const LR = 1e-3;

export interface ModelCase {
  name: string;
  label: string;
  preset: ModelPreset;
  mode: 'train' | 'infer';
}

/** The configuration a preset's cases run (ours, tfjs's twin and PyTorch's alike). */
export const benchModelConfig = (preset: ModelPreset): ModelConfig => MODEL_PRESETS[preset](CLASSES, true);

/** A model case for bench/torch_bench.py. */
export const torchModelCase = (c: ModelCase): TorchCase => ({ name: c.name, kind: c.mode, config: benchModelConfig(c.preset), batch: MODEL_BATCH });

/** Host cost: rounds of runs back to back (see measureHost). */
const HOST_RUNS = 5;
const HOST_ROUNDS = 5;

/** The presets benchmarked unless --model says otherwise. */
export const BENCH_PRESETS: ModelPreset[] = ['default', 'compact', 'm5', 'm5-compact'];

/** Whether the TensorFlow.js twin (ser-tfjs.ts) implements a preset: the M5 design only (no filter bank). */
export const tfjsImplements = (config: ModelConfig) => !config.frontEnd && config.pooling !== 'stats';

export function modelCases(presets: ModelPreset[] = BENCH_PRESETS): ModelCase[] {
  return presets.flatMap((preset): ModelCase[] => [
    { name: `train step ${preset} (batch ${MODEL_BATCH})`, label: `train ${preset}`, preset, mode: 'train' },
    { name: `inference ${preset} (batch ${MODEL_BATCH})`, label: `infer ${preset}`, preset, mode: 'infer' },
  ]);
}

interface HostBatch {
  samples: Float32Array;
  genders: Float32Array;
  labels: Int32Array;
  genderLabels: Int32Array;
}

function hostBatch(size: number, windowSamples: number, seed: number): HostBatch {
  const genderLabels = Int32Array.from({ length: size }, (_, i) => i % 2);
  return {
    samples: randomArray(size * windowSamples, seed, -0.5, 0.5),
    genders: Float32Array.from({ length: size * 2 }, (_, i) => (i % 2 === genderLabels[i >> 1] ? 1 : 0)),
    labels: Int32Array.from({ length: size }, (_, i) => i % CLASSES.length),
    genderLabels,
  };
}

/** Our model with its optimiser and a batch on the device. */
class OurSer {
  readonly model: SerModel;
  private adam: Adam;
  private x: Tensor;
  private g: Tensor;
  constructor(
    readonly config: ModelConfig,
    private batch: HostBatch,
  ) {
    this.model = new SerModel(config, SEED);
    this.adam = new Adam(this.model.parameters(), { lr: LR });
    const size = batch.labels.length;
    this.x = tensor(batch.samples, [size, 1, config.windowSamples]).keep();
    this.g = tensor(batch.genders, [size, 2]).keep();
  }

  /** Training-mode loss (the trainer's serLoss, its gender weight included) and the emotion logits. */
  lossAndLogits(): [Tensor, Tensor] {
    this.model.train();
    return tidy(() => {
      const out = this.model.forward(this.x, this.config.useGender ? this.g : undefined);
      const loss = serLoss(out, this.batch, { genderWeight: DEFAULT_TRAIN_OPTIONS.genderLossWeight });
      return [loss, out.emotion];
    });
  }

  step(): void {
    // The logits are part of the graph: disposing them before backward would cut the emotion branch off.
    const [loss, logits] = this.lossAndLogits();
    loss.backwardSync();
    logits.dispose();
    this.adam.step();
    this.adam.zeroGrad();
    loss.dispose();
  }

  predict(): Tensor[] {
    this.model.eval();
    return tidy(() =>
      noGrad(() => {
        const out = this.model.forward(this.x, this.config.useGender ? this.g : undefined);
        return [softmax(out.emotion), softmax(out.gender)];
      }),
    );
  }

  dispose(): void {
    this.adam.dispose();
    this.model.dispose();
    this.x.dispose();
    this.g.dispose();
  }
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

/** The batch-of-2 check described at the top; returns the worst relative errors (ours, tfjs). */
async function checkModel(ctx: BenchContext, preset: ModelPreset, config: ModelConfig): Promise<{ error: number; tfjsError?: number }> {
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

    const net = new TfjsSer(tf, cfg, state, LR, DEFAULT_TRAIN_OPTIONS.genderLossWeight);
    const tb = tfjsBatch(tf, batch.samples, batch.genders, batch.labels, batch.genderLabels, CLASSES.length);
    try {
      const [tLoss, tLogits] = net.lossAndLogits(tb);
      let tfjsError = expectClose(`${what}: tfjs emotion logits vs the CPU reference`, (await tLogits.data()) as Float32Array, cpuLogits);
      tfjsError = Math.max(tfjsError, expectClose(`${what}: tfjs loss vs the CPU reference`, (await tLoss.data()) as Float32Array, cpuLoss));
      tf.dispose([tLoss, tLogits, net.step(tb)]);
      const [tLoss1, tLogits1] = net.lossAndLogits(tb);
      const tfjsAfterStep = (await tLoss1.data()) as Float32Array;
      tf.dispose([tLoss1, tLogits1]);
      // Independent gradients and Adam on both sides: the same loss after one step says both are right.
      expectClose(`${what}: loss after one Adam step, ours ${afterStep[0]} vs tfjs ${tfjsAfterStep[0]}`, afterStep, tfjsAfterStep, 1e-3);
      return { error, tfjsError };
    } finally {
      disposeBatch(tf, tb);
      net.dispose();
    }
  } finally {
    ours.dispose();
  }
}

/** Both engines' copies of one preset, checked once, then timed in training and in inference. */
export class ModelBench {
  private constructor(
    private ctx: BenchContext,
    readonly preset: ModelPreset,
    private ours: OurSer,
    private theirs: { net: TfjsSer; batch: TfjsBatch } | null,
    private checked: { error: number; tfjsError?: number },
  ) {}

  /** check = false skips the batch-of-2 check (for the profiler's extra run). */
  static async create(ctx: BenchContext, preset: ModelPreset, check = true): Promise<ModelBench> {
    const config = benchModelConfig(preset);
    const checked = check ? await checkModel(ctx, preset, config) : { error: NaN };
    const batch = hostBatch(MODEL_BATCH, config.windowSamples, 3);
    const ours = new OurSer(config, batch);
    let theirs: { net: TfjsSer; batch: TfjsBatch } | null = null;
    if (ctx.tf && tfjsImplements(config)) {
      const net = new TfjsSer(ctx.tf, config, await ours.model.stateDict(), LR, DEFAULT_TRAIN_OPTIONS.genderLossWeight);
      theirs = { net, batch: tfjsBatch(ctx.tf, batch.samples, batch.genders, batch.labels, batch.genderLabels, CLASSES.length) };
    }
    return new ModelBench(ctx, preset, ours, theirs, checked);
  }

  async run(c: ModelCase, o: TimingOptions): Promise<CaseResult> {
    const runtime = this.ctx.engine.runtime!;
    const workloads: Workload[] = [
      { run: c.mode === 'train' ? () => this.ours.step() : () => this.ours.predict().forEach((t) => t.dispose()), sync: () => runtime.sync() },
    ];
    if (this.theirs && this.ctx.tf) {
      const tf: Tfjs = this.ctx.tf;
      const { net, batch } = this.theirs;
      workloads.push({ run: c.mode === 'train' ? () => net.step(batch).dispose() : () => tf.dispose(net.predict(batch)), sync: () => tfjsSync(tf) });
    }
    // Where tuning is on, our first step queues the candidates of the batch-16 shapes (the kernel cases, at
    // these shapes, have checked each winner against the reference).
    workloads[0].run();
    await tunePending();
    const [ours, theirs = null] = await measure(workloads, o);
    // The host's share: dispatches recorded by one run (exact), and the host time of a run on an idle queue.
    const before = runtime.counts.dispatches;
    workloads[0].run();
    const dispatches = runtime.counts.dispatches - before;
    const host = await measureHost(workloads[0], HOST_RUNS, HOST_ROUNDS);
    const perSecond = (ms: number) => (MODEL_BATCH * 1000) / ms;
    return {
      ...timedResult(c, ours, theirs),
      dispatches,
      hostMs: host.ms,
      hostClock: host.clock,
      error: this.checked.error,
      tfjsError: this.checked.tfjsError,
      extra: { utterancesPerSecond: perSecond(ours.ms), ...(theirs ? { tfjsUtterancesPerSecond: perSecond(theirs.ms) } : {}) },
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
