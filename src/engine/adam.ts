// Adam (with optional decoupled weight decay, i.e. AdamW): one fused kernel per parameter per step.
// Moments live on the device beside the parameters; `lr` may be changed between steps by a schedule.

import { adamStep } from '../kernels/optim.js';
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
  private moments: { m: Tensor; v: Tensor }[];
  private config: Required<AdamConfig>;

  constructor(
    readonly params: Tensor[],
    config: AdamConfig = {},
  ) {
    this.config = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...config };
    this.lr = this.config.lr;
    this.moments = params.map((p) => ({ m: zeros([...p.shape]).keep(), v: zeros([...p.shape]).keep() }));
  }

  step(): void {
    this.stepCount++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const { m, v } = this.moments[i];
      adamStep(p.backend, p.storage, p.grad.storage, m.storage, v.storage, { lr: this.lr, beta1, beta2, eps, weightDecay, step: this.stepCount });
    });
    // One training step, one batch of command buffers: submitted here, so every step is recorded alike.
    this.params[0]?.backend.flush();
  }

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Moments by parameter index, for checkpoints (resume continues with the same optimiser state). */
  async state(): Promise<{ step: number; m: Float32Array[]; v: Float32Array[] }> {
    return {
      step: this.stepCount,
      m: await Promise.all(this.moments.map((s) => s.m.toArray())),
      v: await Promise.all(this.moments.map((s) => s.v.toArray())),
    };
  }

  loadState(state: { step: number; m: Float32Array[]; v: Float32Array[] }): void {
    if (state.m.length !== this.moments.length) throw new Error(`optimizer state has ${state.m.length} moments, the model ${this.moments.length} parameters`);
    this.stepCount = state.step;
    this.moments.forEach((s, i) => {
      s.m.backend.write(s.m.storage, state.m[i]);
      s.v.backend.write(s.v.storage, state.v[i]);
    });
  }

  dispose(): void {
    for (const s of this.moments) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}
