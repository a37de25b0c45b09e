// Bind groups and uniform buffers, cached. A training step dispatches the same kernels on the same pooled
// buffers with the same parameters every step, yet creating a bind group costs ~35 µs on lavapipe and
// writing a uniform ~12 µs: for the small kernels (the classifier's, the optimiser's) that is most of their
// time. So a uniform buffer is made once per distinct parameter block and never written again, and a bind
// group once per (pipeline, uniform, buffers) (a view of a buffer's range is one binding object, made with the
// view, so it keys the cache like a buffer). Both caches are bounded by starting afresh when full (a training
// step refills them in one step; keeping a use order cost two Map writes a dispatch): parameters that change
// every step or lengths that vary per batch must not grow them forever.
// Parameters known to change at every call (Adam's step count, a dropout seed: `volatile`) skip the value cache:
// they are written (queue.writeBuffer) into a recycled uniform buffer instead, one not bound by any command
// still unsubmitted, so a training step binds the same buffer every step and its bind group is cached too. A new
// buffer and bind group per step cost about 0.5 ms of host time a step on lavapipe (default model).
// A recorded step (step-recording.ts) binds its uniforms for as long as it lives: its per-step ones are its own
// (`ownUniform`), and the cached ones it binds are pinned, not destroyed when the cache starts afresh.

import type { Params } from './params.js';
import type { Binding } from './storage.js';
import { Trie } from './trie.js';

const UNIFORM_USAGE = 0x40; // GPUBufferUsage.UNIFORM
const VOLATILE_USAGE = 0x40 | 0x08; // UNIFORM | COPY_DST

/** The trie's key part for a dispatch without a uniform. */
const NO_UNIFORM = {};

export class BindingCache {
  /** Uniform buffers by their params' words. */
  private uniforms = new Trie<number, GPUBuffer>();
  /** The buffers in `uniforms`, retired together when it is full. */
  private uniformBuffers: GPUBuffer[] = [];
  private groups = new Trie<object, GPUBindGroup>();
  private groupCount = 0;
  /** Evicted uniforms, destroyed after the next submit: the batch being recorded may still bind them. */
  private retired: GPUBuffer[] = [];
  private layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  /** Volatile uniform buffers by size: free ones (no unsubmitted command binds them), and those bound since the
   * last submit. */
  private volatileFree = new Map<number, GPUBuffer[]>();
  private volatileBusy: GPUBuffer[] = [];
  private volatileCount = 0;
  /** Cached uniforms that recorded steps bind, with their counts (see `pin`), and those of them retired meanwhile. */
  private pins = new Map<GPUBuffer, number>();
  private orphans = new Set<GPUBuffer>();

  constructor(
    private device: GPUDevice,
    private capacity = { uniforms: 2048, bindGroups: 4096 },
    /** Wraps each creation in the runtime's error scopes (GpuRuntime.scoped): no scope may stay open between
     * calls, and a hit creates nothing, so a dispatch the cache serves pays for none. */
    private scoped: <T>(make: () => T) => T = (make) => make(),
  ) {}

  /** The uniform buffer holding a dispatch's params: cached by value, or for params that change at every call
   * (`volatile`) a recycled one written now. */
  uniformFor(params: Params, volatile: boolean): GPUBuffer {
    return volatile ? this.volatileUniform(params) : this.uniform(params);
  }

  /** A uniform buffer of its own for params that a recorded step writes again at every replay (step-recording.ts):
   * neither cached nor recycled; its owner destroys it. */
  ownUniform(params: Params): GPUBuffer {
    const bytes = params.bytes();
    const buffer = this.scoped(() => this.device.createBuffer({ label: 'params (replayed)', size: bytes.byteLength, usage: VOLATILE_USAGE }));
    this.device.queue.writeBuffer(buffer, 0, bytes);
    return buffer;
  }

  /** Keeps a cached uniform from being destroyed when the cache starts afresh, until `unpin`: a recorded step's bind
   * groups bind it. Pins count. */
  pin(buffer: GPUBuffer): void {
    this.pins.set(buffer, (this.pins.get(buffer) ?? 0) + 1);
  }

  unpin(buffer: GPUBuffer): void {
    const count = (this.pins.get(buffer) ?? 0) - 1;
    if (count > 0) return void this.pins.set(buffer, count);
    this.pins.delete(buffer);
    // Retired while pinned: nothing else holds it now.
    if (this.orphans.delete(buffer)) buffer.destroy();
  }

  /** The bind group of a dispatch: the uniform (if any) at binding 0, `buffers` at 1..n. `label` names it in
   * WebGPU's errors; it is built only for a new group. */
  bindGroup(pipeline: GPUComputePipeline, uniform: GPUBuffer | null, buffers: Binding[], label: () => string): GPUBindGroup {
    // The cache is a trie keyed by the objects themselves (pipeline, uniform, then each buffer in order): a hit
    // is a few identity-keyed Map reads, with no key string to build.
    let node = this.groups.child(pipeline).child(uniform ?? NO_UNIFORM);
    for (const buffer of buffers) node = node.child(buffer);
    if (node.value) return node.value;
    const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({ binding: i + 1, resource: 'buffer' in b ? b : { buffer: b } }));
    if (uniform) entries.unshift({ binding: 0, resource: { buffer: uniform } });
    node.value = this.scoped(() => this.device.createBindGroup({ label: label(), layout: this.layout(pipeline), entries }));
    // Bounded by starting afresh: lengths that vary per batch must not grow it forever, and a training step,
    // which repeats its bind groups, refills it in one step.
    if (++this.groupCount > this.capacity.bindGroups) {
      this.groups = new Trie();
      this.groupCount = 0;
    }
    return node.value;
  }

  /** Called by the runtime after each queue submit. */
  afterSubmit(): void {
    for (const buffer of this.retired) {
      if (this.pins.has(buffer)) this.orphans.add(buffer);
      else buffer.destroy();
    }
    this.retired = [];
    for (const buffer of this.volatileBusy) this.volatileFree.get(buffer.size)!.push(buffer);
    this.volatileBusy = [];
  }

  stats(): { uniforms: number; bindGroups: number; volatileUniforms: number } {
    return { uniforms: this.uniformBuffers.length, bindGroups: this.groupCount, volatileUniforms: this.volatileCount };
  }

  /** A uniform buffer holding params, recycled: queue.writeBuffer lands before the next submit, i.e. before the
   * commands now being recorded and after every command submitted, none of which binds a free buffer. */
  private volatileUniform(params: Params): GPUBuffer {
    const bytes = params.bytes();
    let free = this.volatileFree.get(bytes.byteLength);
    if (!free) this.volatileFree.set(bytes.byteLength, (free = []));
    let buffer = free.pop();
    if (!buffer) {
      buffer = this.scoped(() => this.device.createBuffer({ label: 'params (volatile)', size: bytes.byteLength, usage: VOLATILE_USAGE }));
      this.volatileCount++;
    }
    this.device.queue.writeBuffer(buffer, 0, bytes);
    this.volatileBusy.push(buffer);
    return buffer;
  }

  private uniform(params: Params): GPUBuffer {
    let node = this.uniforms;
    for (const word of params.words) node = node.child(word);
    if (node.value) return node.value;
    if (this.uniformBuffers.length >= this.capacity.uniforms) {
      // Retired, not destroyed: the batch being recorded may still bind them.
      this.retired.push(...this.uniformBuffers);
      this.uniformBuffers = [];
      this.uniforms = new Trie();
      return this.uniform(params);
    }
    const bytes = params.bytes();
    const buffer = this.scoped(() => this.device.createBuffer({ label: 'params', size: bytes.byteLength, usage: UNIFORM_USAGE, mappedAtCreation: true }));
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(bytes));
    buffer.unmap();
    this.uniformBuffers.push(buffer);
    return (node.value = buffer);
  }

  private layout(pipeline: GPUComputePipeline): GPUBindGroupLayout {
    let layout = this.layouts.get(pipeline);
    if (!layout) this.layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
    return layout;
  }
}
