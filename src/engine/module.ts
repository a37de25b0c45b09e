// A small module system for models built on the engine: parameters and buffers (running statistics) with
// dotted state-dict names, child modules, train/eval mode, and state dicts as plain arrays that checkpoints
// (safetensors) read and write.

import { ShapeError, Tensor } from './tensor.js';

export interface ArrayTensor {
  shape: number[];
  data: Float32Array;
}

export abstract class Module {
  training = true;
  private parametersByName = new Map<string, Tensor>();
  private buffersByName = new Map<string, Tensor>();
  private children = new Map<string, Module>();

  /** State-dict names are dotted paths: a dot in a name, or a name used twice, would give two entries one name,
   * and one would silently overwrite the other in stateDict() and loadStateDict(). */
  private checkName(name: string, what: string): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw new Error(`${this.constructor.name}: ${what} name ${JSON.stringify(name)} must be non-empty and without dots (state-dict names join them with dots)`);
    if (this.parametersByName.has(name) || this.buffersByName.has(name) || this.children.has(name)) {
      throw new Error(`${this.constructor.name}: ${what} name "${name}" is already taken by a parameter, buffer or child of this module`);
    }
  }

  protected parameter(name: string, t: Tensor): Tensor {
    this.checkName(name, 'parameter');
    t.requiresGrad = true;
    t.name = name;
    this.parametersByName.set(name, t.keep());
    return t;
  }

  protected buffer(name: string, t: Tensor): Tensor {
    this.checkName(name, 'buffer');
    t.name = name;
    this.buffersByName.set(name, t.keep());
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.checkName(name, 'child');
    this.children.set(name, m);
    // Errors name tensors by their own name: a model's "weight[3,8]" could be any layer's, "fc.weight[3,8]" is one.
    // Each enclosing module prefixes its child's names again, so they end as the model's state-dict names.
    for (const [full, t] of [...m.namedParameters(`${name}.`), ...m.namedBuffers(`${name}.`)]) t.name = full;
    return m;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const own = [...this.parametersByName].map(([n, t]): [string, Tensor] => [prefix + n, t]);
    return own.concat(...[...this.children].map(([n, c]) => c.namedParameters(`${prefix}${n}.`)));
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const own = [...this.buffersByName].map(([n, t]): [string, Tensor] => [prefix + n, t]);
    return own.concat(...[...this.children].map(([n, c]) => c.namedBuffers(`${prefix}${n}.`)));
  }

  /** This module and every module below it, depth first. */
  *modules(): Generator<Module> {
    yield this;
    for (const c of this.children.values()) yield* c.modules();
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers, read back to the CPU, by dotted name. */
  async stateDict(): Promise<Record<string, ArrayTensor>> {
    const out: Record<string, ArrayTensor> = {};
    for (const [name, t] of [...this.namedParameters(), ...this.namedBuffers()]) out[name] = { shape: [...t.shape], data: await t.toArray() };
    return out;
  }

  /** Writes a state dict into the existing tensors (so optimisers keep their references). Every name must match. */
  loadStateDict(state: Record<string, ArrayTensor>): void {
    // All checked before anything is written: a refused state dict leaves the module as it was.
    this.checkStateDict(state);
    for (const [name, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.backend.write(t.storage, state[name].data);
  }

  /** Throws (a ShapeError naming the tensor) unless `state` has exactly this module's names and shapes. */
  checkStateDict(state: Record<string, ArrayTensor>): void {
    if (typeof state !== 'object' || state === null) throw new ShapeError(`loadStateDict: the state dict must be an object of { shape, data } by name, got ${state}`);
    const targets = new Map([...this.namedParameters(), ...this.namedBuffers()]);
    const missing = [...targets.keys()].filter((n) => !(n in state));
    const unexpected = Object.keys(state).filter((n) => !targets.has(n));
    if (missing.length || unexpected.length) {
      throw new ShapeError(`loadStateDict: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
    }
    for (const [name, t] of targets) {
      const s = state[name];
      // The values are written as they lie in memory: a Float64Array's bytes were read as twice as many float32s
      // (garbage, and past its tensor into the next one's range of Adam's vector), an array or a JSON round trip's
      // object failed deep in the device's writeBuffer, or as "[2,2] but the model expects [2,2]".
      if (!(s?.data instanceof Float32Array) || !Array.isArray(s.shape)) {
        const got = s?.data === undefined || s?.data === null ? `${s?.data}` : (s.data.constructor?.name ?? typeof s.data);
        throw new ShapeError(`loadStateDict: ${name} must be { shape: number[], data: Float32Array }, got data ${got}${ArrayBuffer.isView(s?.data) || Array.isArray(s?.data) ? ' (Float32Array.from(data) converts it)' : ''}`);
      }
      if (s.shape.length === t.shape.length && s.shape.every((d, i) => d === t.shape[i]) && s.data.length !== t.size) {
        throw new ShapeError(`loadStateDict: ${name} has ${s.data.length} values for its shape [${s.shape}] of ${t.size}`);
      }
      if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i]) || s.data.length !== t.size) {
        // The first dimensions only: a checkpoint's shape may have a million of them (ones, with the right size).
        const shape = s.shape.length > 8 ? `${s.shape.slice(0, 8)},... (${s.shape.length} dimensions)` : `${s.shape}`;
        throw new ShapeError(`loadStateDict: ${name} has shape [${shape}] but the model expects [${t.shape}]`);
      }
    }
  }

  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      t.grad?.dispose();
      t.grad = null;
      t.dispose();
    }
  }
}
