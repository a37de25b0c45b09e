// Adam (with optional decoupled weight decay, i.e. AdamW), multi-tensor: one kernel updates every parameter.
// The moments of all parameters live in two flat vectors m and v (parameter i at offsets[i]), beside a flat
// copy of the parameters and of their gradients. A step packs the parameters and gradients into their flat
// vectors (buffer copies, not dispatches), runs the Adam kernel once over them, and unpacks the parameters:
// one dispatch per step instead of one per parameter, whose fixed cost dominates the small ones (biases, batch
// norm's scales). Parameters without a gradient are skipped, as torch does: the kernel then runs once per run
// of consecutive parameters that have one. `lr` may be changed between steps by a schedule.

import { adamStep, pack, unpack, type Range } from '../kernels/optim.js';
import { zeros } from './ops.js';
import type { Tensor } from './tensor.js';

export interface AdamConfig {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class Adam {
  lr: number;
  stepCount = 0;
  private config: Required<AdamConfig>;
  /** Where each parameter starts in the flat vectors. */
  private offsets: number[];
  private flat: { param: Tensor; grad: Tensor; m: Tensor; v: Tensor };

  constructor(
    readonly params: Tensor[],
    config: AdamConfig = {},
  ) {
    this.config = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...config };
    this.lr = this.config.lr;
    let total = 0;
    this.offsets = params.map((p) => (total += p.size) - p.size);
    const flat = () => zeros([Math.max(1, total)]).keep();
    this.flat = { param: flat(), grad: flat(), m: flat(), v: flat() };
  }

  step(): void {
    this.stepCount++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const options = { lr: this.lr, beta1, beta2, eps, weightDecay, step: this.stepCount };
    const withGrad = this.params.map((p, i) => i).filter((i) => this.params[i].grad);
    if (withGrad.length === 0) return;
    const backend = this.flat.param.backend;
    const { param, grad, m, v } = this.flat;
    const storages = (indices: number[], of: (p: Tensor) => Tensor) => indices.map((i) => of(this.params[i]).storage);
    const offsets = withGrad.map((i) => this.offsets[i]);
    // The parameters are packed every step: a schedule, a checkpoint or the user may have written them since.
    pack(backend, param.storage, storages(withGrad, (p) => p), offsets);
    pack(backend, grad.storage, storages(withGrad, (p) => p.grad!), offsets);
    for (const range of this.runs(withGrad)) adamStep(backend, param.storage, grad.storage, m.storage, v.storage, options, range);
    unpack(backend, param.storage, storages(withGrad, (p) => p), offsets);
    // One training step, one batch of command buffers: submitted here, so every step is recorded alike.
    backend.flush();
  }

  /** The flat ranges of consecutive parameters (by index) in `indices`. */
  private runs(indices: number[]): Range[] {
    const ranges: Range[] = [];
    for (const i of indices) {
      const last = ranges[ranges.length - 1];
      if (last && last.offset + last.length === this.offsets[i]) last.length += this.params[i].size;
      else ranges.push({ offset: this.offsets[i], length: this.params[i].size });
    }
    return ranges;
  }

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Moments by parameter index, for checkpoints (resume continues with the same optimiser state). */
  async state(): Promise<{ step: number; m: Float32Array[]; v: Float32Array[] }> {
    const split = (flat: Float32Array) => this.params.map((p, i) => flat.slice(this.offsets[i], this.offsets[i] + p.size));
    return { step: this.stepCount, m: split(await this.flat.m.toArray()), v: split(await this.flat.v.toArray()) };
  }

  loadState(state: { step: number; m: Float32Array[]; v: Float32Array[] }): void {
    if (state.m.length !== this.params.length || state.v.length !== this.params.length) {
      throw new Error(`optimizer state has ${state.m.length} moments, the model ${this.params.length} parameters`);
    }
    const join = (parts: Float32Array[], what: string) => {
      const flat = new Float32Array(this.flat.m.size);
      parts.forEach((part, i) => {
        if (part.length !== this.params[i].size) throw new Error(`optimizer state: ${what}[${i}] has ${part.length} values, parameter ${i} ${this.params[i].size}`);
        flat.set(part, this.offsets[i]);
      });
      return flat;
    };
    this.stepCount = state.step;
    const { m, v } = this.flat;
    m.backend.write(m.storage, join(state.m, 'm'));
    v.backend.write(v.storage, join(state.v, 'v'));
  }

  dispose(): void {
    for (const t of Object.values(this.flat)) t.dispose();
  }
}
