// Adam (with optional decoupled weight decay, i.e. AdamW), multi-tensor: one dispatch updates many parameters.
// The parameters and the moments m and v live in three flat vectors (parameter i at offsets[i], each range padded
// to the backend's view alignment). The parameters move into theirs when the optimiser is made: each becomes a view
// of its range (Tensor.rebase), so the kernel updates them in place. The kernel reads each gradient where backward()
// left it, up to 13 a dispatch (one per storage binding; ../kernels/optim.ts): the default model's 18 parameters take
// two dispatches a step, where one parameter at a time took 18, and there is no copy of a parameter or a gradient
// (the gradients were once copied into a fourth flat vector: 18 buffer copies a step, each a command with its host
// cost in Dawn and the driver). Parameters without a gradient are skipped, as torch does, and each parameter counts
// its own steps for the bias corrections, as torch.optim.AdamW does (a parameter first given a gradient at step k is
// corrected as at its first step, not its k-th): the kernel runs for each step count among the parameters that have
// a gradient, so for one count while every parameter gets one (training always gives them all).
// `lr` may be changed between steps by a schedule.
// A parameter lives in the flat vector of the last Adam made over it: an older one no longer moves it, and its
// step() says so rather than update a copy nobody reads.

import { adamStep, pack, type AdamPart } from '../kernels/optim.js';
import { onReplay } from './captured-step.js';
import { defaultBackend } from './context.js';
import { zeros } from './ops.js';
import type { Tensor } from './tensor.js';

/** The Adam whose flat vector each parameter lives in (the last one made over it). */
const owners = new WeakMap<Tensor, Adam>();

/** As torch.optim.AdamW refuses them: a NaN or negative lr, a beta of 1 (a bias correction of 0) or a negative eps
 * turned every parameter into NaN at the first step, silently. eps may be 0, as in torch. */
function checkHyperparameters(c: Required<AdamConfig>): void {
  const bad = (name: string, rule: string, v: unknown) => new Error(`Adam: ${name} must be ${rule}, got ${v}`);
  for (const name of ['lr', 'eps', 'weightDecay'] as const) {
    if (typeof c[name] !== 'number' || !(c[name] >= 0 && c[name] < Infinity)) throw bad(name, 'a finite number of 0 or more', c[name]);
  }
  for (const name of ['beta1', 'beta2'] as const) {
    if (typeof c[name] !== 'number' || !(c[name] >= 0 && c[name] < 1)) throw bad(name, 'a number from 0 to less than 1', c[name]);
  }
}

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
  /** Where each parameter starts in the flat vectors. */
  private offsets: number[];
  private flat: { param: Tensor; m: Tensor; v: Tensor };

  constructor(
    readonly params: Tensor[],
    config: AdamConfig = {},
  ) {
    this.config = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...config };
    checkHyperparameters(this.config);
    this.lr = this.config.lr;
    this.steps = params.map(() => 0);
    const backend = defaultBackend();
    // The flat vectors are made on the engine's backend; a parameter elsewhere (made before init() switched) failed
    // in the packing kernel, naming neither Adam nor the parameter.
    params.forEach((p, i) => {
      if (p.disposed) throw new Error(`Adam: parameter ${i} ${p.describe()} was disposed`);
      if (p.backend !== backend) throw new Error(`Adam: parameter ${i} ${p.describe()} is on ${p.backend.name}, but the engine (init()) runs on ${backend.name}`);
    });
    // Checked before anything moves. A parameter given twice would have two ranges, and move by one of them only.
    const repeated = params.findIndex((p, i) => params.indexOf(p) !== i);
    if (repeated >= 0) throw new Error(`Adam: parameter ${repeated} is parameter ${params.indexOf(params[repeated])} again (${params[repeated].describe()}): give each tensor once`);
    // A tensor sharing a parameter's storage would keep its old values.
    const shared = params.find((p) => p.sharesStorage);
    if (shared) throw new Error(`Adam: parameter ${shared.describe()} shares its storage with another tensor (a reshape of it?): dispose that first`);
    const align = backend.viewAlignment;
    const spans = params.map((p) => Math.ceil(p.size / align) * align);
    let total = 0;
    this.offsets = spans.map((span) => (total += span) - span);
    // Zeroed: the padding stays zero (zero gradient and moments leave a zero parameter unchanged).
    const flat = () => zeros([Math.max(1, total)]).keep();
    this.flat = { param: flat(), m: flat(), v: flat() };
    pack(backend, this.flat.param.storage, params.map((p) => p.storage), this.offsets);
    params.forEach((p, i) => {
      p.rebase(this.flat.param, this.offsets[i]);
      owners.set(p, this);
    });
  }

  step(): void {
    this.checkLr();
    // Its module's dispose() (which drops the gradients too): the step would have moved nothing, in silence.
    const gone = this.params.findIndex((p) => p.disposed);
    if (gone >= 0) throw new Error(`Adam: parameter ${gone} ${this.params[gone].describe()} was disposed (its module's dispose()?): nothing to step`);
    const moved = this.params.findIndex((p) => owners.get(p) !== this);
    if (moved >= 0) {
      throw new Error(`Adam: parameter ${moved} ${this.params[moved].describe()} has moved into the vector of an Adam made over it later: step that one (this one no longer moves it)`);
    }
    const withGrad = this.params.flatMap((p, i) => (p.grad ? [i] : []));
    // Checked before any count moves: a gradient of another size would update a range not its parameter's.
    for (const i of withGrad) {
      const p = this.params[i];
      if (p.grad!.disposed) throw new Error(`Adam: the gradient of parameter ${i} ${p.describe()} was disposed but is still its .grad (zeroGrad() drops gradients)`);
      if (p.grad!.size !== p.size) throw new Error(`Adam: parameter ${i} ${p.describe()} was given a gradient of ${p.grad!.size} values`);
    }
    this.count(withGrad);
    // A captured step's replays count as this step does (the same parameters have gradients every replay).
    onReplay(() => {
      this.checkLr();
      this.count(withGrad);
    });
    // The parameters with a gradient, by their step counts after this step.
    const byCount = new Map<number, number[]>();
    for (const i of withGrad) {
      let group = byCount.get(this.steps[i]);
      if (!group) byCount.set(this.steps[i], (group = []));
      group.push(i);
    }
    const { beta1, beta2, eps, weightDecay } = this.config;
    const { param, m, v } = this.flat;
    for (const group of byCount.values()) {
      const parts: AdamPart[] = group.map((i) => ({ offset: this.offsets[i], length: this.params[i].size, grad: this.params[i].grad!.storage }));
      // Read when the kernel is recorded and again at each replay: the schedule's lr, the group's count.
      adamStep(param.backend, param.storage, m.storage, v.storage, parts, () => ({ lr: this.lr, beta1, beta2, eps, weightDecay, step: this.steps[group[0]] }));
    }
    // One training step, one batch of command buffers: submitted here, so every step is recorded alike.
    param.backend.flush();
  }

  /** A schedule sets lr between steps. */
  private checkLr(): void {
    if (typeof this.lr !== 'number' || !(this.lr >= 0 && this.lr < Infinity)) throw new Error(`Adam: lr must be a finite number of 0 or more, got ${this.lr}`);
  }

  private count(withGrad: number[]): void {
    this.stepCount++;
    for (const i of withGrad) this.steps[i]++;
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
    // Both moments are checked before anything is written: a refused v had left the counts and m loaded.
    const moments = { m: join(state.m, 'm'), v: join(state.v, 'v') };
    this.stepCount = state.step;
    this.steps = [...steps];
    const { m, v } = this.flat;
    m.backend.write(m.storage, moments.m);
    v.backend.write(v.storage, moments.v);
  }

  dispose(): void {
    for (const t of Object.values(this.flat)) t.dispose();
  }
}
