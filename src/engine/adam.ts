// Adam (with optional decoupled weight decay, i.e. AdamW), multi-tensor: one kernel updates every parameter.
// The parameters, their gradients and the moments m and v live in four flat vectors (parameter i at
// offsets[i], each range padded to the backend's view alignment). The parameters move into theirs when the
// optimiser is made: each becomes a view of its range (Tensor.rebase), so the kernel updates them in place.
// A step packs the gradients into their flat vector (buffer copies, not dispatches) and runs the kernel once:
// one dispatch per step instead of one per parameter, whose fixed cost dominates the small ones (biases, batch
// norm's scales), and no copies of the parameters in or out (36 a step for the default model, ~10 % of its
// host time on lavapipe). Parameters without a gradient are skipped, as torch does, and each parameter counts its
// own steps for the bias corrections, as torch.optim.AdamW does (a parameter first given a gradient at step k is
// corrected as at its first step, not its k-th): the kernel runs once per run of consecutive parameters that have
// a gradient and the same count, so once a step while every parameter gets one (training always gives them all).
// `lr` may be changed between steps by a schedule.
// A parameter lives in the flat vector of the last Adam made over it: an older one no longer moves it.

import { adamStep, pack, type Range } from '../kernels/optim.js';
import { defaultBackend } from './context.js';
import { zeros } from './ops.js';
import type { Tensor } from './tensor.js';

export interface AdamConfig {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** What a checkpoint keeps: the steps taken, each parameter's own count (absent in older checkpoints: every
 * parameter then takes `step`), and the moments, by parameter index. */
export interface AdamState {
  step: number;
  steps?: number[];
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  lr: number;
  /** Steps taken (calls of step()): what a learning-rate schedule reads. */
  stepCount = 0;
  /** Each parameter's own step count (the steps in which it had a gradient), for its bias corrections. */
  private steps: number[];
  private config: Required<AdamConfig>;
  /** Where each parameter starts in the flat vectors, and the length of its padded range there. */
  private offsets: number[];
  private spans: number[];
  private flat: { param: Tensor; grad: Tensor; m: Tensor; v: Tensor };

  constructor(
    readonly params: Tensor[],
    config: AdamConfig = {},
  ) {
    this.config = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...config };
    this.lr = this.config.lr;
    this.steps = params.map(() => 0);
    // Checked before anything moves: a tensor sharing a parameter's storage would keep its old values.
    const shared = params.find((p) => p.sharesStorage);
    if (shared) throw new Error(`Adam: parameter ${shared.describe()} shares its storage with another tensor (a reshape of it?): dispose that first`);
    const backend = defaultBackend();
    const align = backend.viewAlignment;
    this.spans = params.map((p) => Math.ceil(p.size / align) * align);
    let total = 0;
    this.offsets = this.spans.map((span) => (total += span) - span);
    // Zeroed: the padding stays zero (zero gradient and moments leave a zero parameter unchanged).
    const flat = () => zeros([Math.max(1, total)]).keep();
    this.flat = { param: flat(), grad: flat(), m: flat(), v: flat() };
    pack(backend, this.flat.param.storage, params.map((p) => p.storage), this.offsets);
    params.forEach((p, i) => p.rebase(this.flat.param, this.offsets[i]));
  }

  step(): void {
    this.stepCount++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const withGrad = this.params.map((p, i) => i).filter((i) => this.params[i].grad);
    if (withGrad.length === 0) return;
    for (const i of withGrad) this.steps[i]++;
    const backend = this.flat.param.backend;
    const { param, grad, m, v } = this.flat;
    pack(backend, grad.storage, withGrad.map((i) => this.params[i].grad!.storage), withGrad.map((i) => this.offsets[i]));
    for (const { step, ...range } of this.runs(withGrad)) {
      adamStep(backend, param.storage, grad.storage, m.storage, v.storage, { lr: this.lr, beta1, beta2, eps, weightDecay, step }, range);
    }
    // One training step, one batch of command buffers: submitted here, so every step is recorded alike.
    backend.flush();
  }

  /** The flat ranges of consecutive parameters (by index) in `indices` with the same step count, and that count. */
  private runs(indices: number[]): (Range & { step: number })[] {
    const ranges: (Range & { step: number })[] = [];
    for (const i of indices) {
      const last = ranges[ranges.length - 1];
      if (last && last.offset + last.length === this.offsets[i] && last.step === this.steps[i]) last.length += this.spans[i];
      else ranges.push({ offset: this.offsets[i], length: this.spans[i], step: this.steps[i] });
    }
    return ranges;
  }

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Step counts and moments by parameter index, for checkpoints (resume continues with the same optimiser state). */
  async state(): Promise<Required<AdamState>> {
    const split = (flat: Float32Array) => this.params.map((p, i) => flat.slice(this.offsets[i], this.offsets[i] + p.size));
    return { step: this.stepCount, steps: [...this.steps], m: split(await this.flat.m.toArray()), v: split(await this.flat.v.toArray()) };
  }

  /** A state without `steps` (an older checkpoint) gives every parameter the count `step`. */
  loadState(state: AdamState): void {
    if (state.m.length !== this.params.length || state.v.length !== this.params.length) {
      throw new Error(`optimizer state has ${state.m.length} moments, the model ${this.params.length} parameters`);
    }
    const steps = state.steps ?? this.params.map(() => state.step);
    if (steps.length !== this.params.length) throw new Error(`optimizer state has ${steps.length} step counts, the model ${this.params.length} parameters`);
    // A parameter takes at most one step per step of the optimiser.
    const bad = steps.findIndex((n) => !Number.isInteger(n) || n < 0 || n > state.step);
    if (state.steps && bad >= 0) throw new Error(`optimizer state: parameter ${bad}'s step count ${steps[bad]} is not a whole number from 0 to ${state.step}`);
    const join = (parts: Float32Array[], what: string) => {
      const flat = new Float32Array(this.flat.m.size);
      parts.forEach((part, i) => {
        if (part.length !== this.params[i].size) throw new Error(`optimizer state: ${what}[${i}] has ${part.length} values, parameter ${i} ${this.params[i].size}`);
        flat.set(part, this.offsets[i]);
      });
      return flat;
    };
    this.stepCount = state.step;
    this.steps = [...steps];
    const { m, v } = this.flat;
    m.backend.write(m.storage, join(state.m, 'm'));
    v.backend.write(v.storage, join(state.v, 'v'));
  }

  dispose(): void {
    for (const t of Object.values(this.flat)) t.dispose();
  }
}
