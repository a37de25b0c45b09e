// The optimiser step and dropout on the GPU (the CPU reference is ./cpu/optim.ts): shaders/adam.wgsl and
// shaders/dropout.wgsl, flat elementwise kernels over float32 vectors of any length (grid1d fold past 65535 groups).
//
//   adamStep(param, m, v, parts, o)  in place on the flat vectors param, m and v: AdamW (decoupled weight decay) with
//                                   bias correction of each part, elements [offset, +length) updated with the
//                                   gradient `grad` (a buffer of its own: no copy into a flat vector first), up to
//                                   `adamPartsPerDispatch` parts a dispatch
//   pack(flat, parts, offsets)      flat[offsets[i] ..] = parts[i]: the optimiser's parameters moved into their flat
//                                   vector (buffer copies on the GPU: no dispatch, no kernel)
//   dropout(x, p, seed)             y = x·mask and the mask, of 0 and 1/(1−p), from an integer hash of (seed,
//                                   index), identical to the CPU reference bit for bit (one pass: mask and y)
//   spanMask(shape, o, seed)        SpecAugment's band and frame masks for x [N, C, L]: 0 inside each example's
//                                   random spans, 1 elsewhere, identical to the CPU reference bit for bit

import { Params } from '../gpu/params.js';
import { grid1d, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage } from '../gpu/storage.js';
import { defineKernel, type Storage } from './backend.js';
import * as ref from './cpu/optim.js';
import adamSource from '../../shaders/adam.wgsl';
import optimCommon from '../../shaders/optim-common.wgsl';
import dropoutSource from '../../shaders/dropout.wgsl';
import spanMaskSource from '../../shaders/span-mask.wgsl';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction. */
  step: number;
}

/** Span masks' sizes: `masks` spans of each kind per example (at most 4), of widths up to maxBands bands and
 * maxFrames frames. */
export interface SpanMaskOptions {
  masks: number;
  maxBands: number;
  maxFrames: number;
}

/** The most spans of each kind an example gets (the shader's hash keys leave room for four). */
export const MAX_SPAN_MASKS = 4;
/** The widest span a mask may ask for (far past any window: 65535 frames are 11 minutes). */
export const MAX_SPAN_WIDTH = 65535;

/** One parameter of an Adam step: elements [offset, offset + length) of the flat vectors, and its gradient, whose
 * first `length` values are read. */
export interface AdamPart {
  offset: number;
  length: number;
  grad: Storage;
}

// 64 threads × 16 elements: on lavapipe, 3M-element Adam took ~175 ms this way against ~215 ms at 256 × 4 and ~310 ms
// at one element per thread (the fixed cost per workgroup dominates there).
const WG = 64;
const ITEMS = 16;

/** The most gradients one adamStep dispatch binds (param, m and v take three more storage bindings): the device's
 * storage bindings allow 16 on lavapipe and the GPUs measured, so the default model's 18 parameters take two. */
const MAX_PARTS = 13;

/** Gradient bindings per adamStep dispatch on this device; a WebGPU device has 8 storage bindings a stage at least.
 * From the profile's limits, read once: Dawn builds a new limits object at every `device.limits`. */
export function adamPartsPerDispatch(rt: GpuRuntime): number {
  return Math.max(1, Math.min(MAX_PARTS, rt.profile.limits.maxStorageBuffersPerShaderStage - 3));
}

// The random masks' kernels, each after their shared hash and indexing (WGSL has no includes).
const dropoutShader = optimCommon + dropoutSource;
const spanMaskShader = optimCommon + spanMaskSource;

/** shaders/adam.wgsl with the declarations it expects for `parts` gradient bindings written before it; one string
 * object per count (the pipeline cache keys by the text's identity). */
const adamShaders = new Map<number, string>();
function adamShader(parts: number): string {
  let text = adamShaders.get(parts);
  if (text) return text;
  const indices = Array.from({ length: parts }, (_, j) => j);
  text = [
    'struct AdamParams {',
    '  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, correction1: f32, correction2: f32,',
    '  count: u32,',
    `  parts: array<vec4u, ${parts}>,`,
    '}',
    ...indices.map((j) => `@group(0) @binding(${4 + j}) var<storage, read> grad${j}: array<f32>;`),
    'fn gradOf(part: u32, i: u32) -> f32 {',
    '  switch part {',
    ...indices.slice(0, -1).map((j) => `    case ${j}u: { return grad${j}[i]; }`),
    `    default: { return grad${parts - 1}[i]; }`,
    '  }',
    '}',
    adamSource,
  ].join('\n');
  adamShaders.set(parts, text);
  return text;
}

function checkParts(param: Storage, parts: AdamPart[]): void {
  for (const p of parts) {
    if (p.offset < 0 || p.offset + p.length > param.length || p.length > p.grad.length) {
      throw new Error(`adamStep: a part of ${p.length} values at ${p.offset} does not fit param[${param.length}] or its gradient of ${p.grad.length}`);
    }
  }
}

/** Per-step values given as they are, or as a function that reads them when called: a recorded step's replays
 * (src/engine/captured-step.ts) call it again for each step. */
export type PerStep<T> = T | (() => T);

function valueOf<T>(v: PerStep<T>): T {
  return typeof v === 'function' ? (v as () => T)() : v;
}

function adamStepGpu(rt: GpuRuntime, param: Storage, m: Storage, v: Storage, parts: AdamPart[], options: PerStep<AdamOptions>): void {
  checkParts(param, parts);
  const slots = adamPartsPerDispatch(rt);
  for (let from = 0; from < parts.length; from += slots) {
    const chunk = parts.slice(from, from + slots);
    let groups = 0;
    const ranges: number[] = [];
    for (let j = 0; j < slots; j++) {
      const p = chunk[j];
      ranges.push(p?.offset ?? 0, p?.length ?? 0, groups, 0);
      if (p) groups += Math.ceil(p.length / (WG * ITEMS));
    }
    const params = () => {
      const o = valueOf(options);
      return new Params()
        .f32(o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, 1 - o.beta1 ** o.step, 1 - o.beta2 ** o.step)
        .u32(chunk.length, ...ranges);
    };
    if (groups === 0) continue;
    // Slots past the chunk's parts bind its first gradient again (read-only bindings may alias); no workgroup reads them.
    const grads = Array.from({ length: slots }, (_, j) => gpuStorage((chunk[j] ?? chunk[0]).grad).binding);
    rt.dispatch({
      kernel: 'adamStep',
      shapes: `${chunk.length} parameters in param[${param.length}]`,
      shader: adamShader(slots),
      entryPoint: 'adamStep',
      constants: { WG, ITEMS },
      params, // a function: the bias corrections change every step
      buffers: [gpuStorage(param).binding, gpuStorage(m).binding, gpuStorage(v).binding, ...grads],
      workgroups: grid1d(groups, 1),
    });
  }
}

function packGpu(rt: GpuRuntime, flat: Storage, parts: Storage[], offsets: number[]): void {
  const target = gpuStorage(flat);
  parts.forEach((p, i) => {
    const part = gpuStorage(p);
    rt.copy(part.buffer, target.buffer, p.length * 4, part.byteOffset, target.byteOffset + offsets[i] * 4);
  });
}

function dropoutGpu(rt: GpuRuntime, x: Storage, p: number, seed: PerStep<number>): { y: Storage; mask: Storage } {
  const length = x.length;
  const mask = allocate(rt, length, 'dropout.mask');
  const y = allocate(rt, length, 'dropout.y');
  // The scale goes in as float32 so the CPU reference can use the very same value.
  const scale = p < 1 ? Math.fround(1 / (1 - p)) : 0;
  rt.dispatch({
    kernel: 'dropout',
    shapes: `x[${length}]`,
    shader: dropoutShader,
    entryPoint: 'dropoutForward',
    constants: { WG, ITEMS },
    params: () => new Params().u32(length, valueOf(seed) >>> 0).f32(p, scale), // a new seed every step
    buffers: [gpuStorage(x).binding, mask.binding, y.binding],
    workgroups: grid1d(length, WG * ITEMS),
  });
  return { y, mask };
}

function spanMaskGpu(rt: GpuRuntime, shape: [number, number, number], o: SpanMaskOptions, seed: PerStep<number>): Storage {
  const [rows, channels, frames] = checkSpanMask(shape, o);
  const length = rows * channels * frames;
  const mask = allocate(rt, length, 'spanMask');
  rt.dispatch({
    kernel: 'spanMask',
    shapes: `x[${shape.join(',')}], ${o.masks}×${o.maxBands} bands, ${o.masks}×${o.maxFrames} frames`,
    shader: spanMaskShader,
    entryPoint: 'spanMaskForward',
    constants: { WG, ITEMS },
    params: () => new Params().u32(length, channels, frames, valueOf(seed) >>> 0, o.maxBands, o.maxFrames, o.masks, 0), // a new seed every step
    buffers: [mask.binding],
    workgroups: grid1d(length, WG * ITEMS),
  });
  return mask;
}

function checkSpanMask(shape: number[], o: SpanMaskOptions): number[] {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) throw new RangeError(`spanMask: shape [${shape}] must be [N, C, L] of positive sizes`);
  if (!Number.isInteger(o.masks) || o.masks < 0 || o.masks > MAX_SPAN_MASKS) throw new RangeError(`spanMask: masks must be an integer in [0, ${MAX_SPAN_MASKS}], got ${o.masks}`);
  for (const key of ['maxBands', 'maxFrames'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 0 || o[key] > MAX_SPAN_WIDTH) throw new RangeError(`spanMask: ${key} must be an integer in [0, ${MAX_SPAN_WIDTH}], got ${o[key]}`);
  }
  if (shape[0] * 8 >= 2 ** 32) throw new RangeError(`spanMask: ${shape[0]} rows are too many to hash`);
  return shape;
}

// ------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (above) and on the CPU (the reference).

/** In place: each part's range of param, m and v updated by one Adam(W) step with its gradient. */
export const adamStep = defineKernel(adamStepGpu, (c, param, m, v, parts, options) => {
  checkParts(param, parts);
  const o = valueOf(options);
  for (const { offset, length, grad } of parts) {
    const part = (s: Storage) => c.data(s).subarray(offset, offset + length);
    const r = ref.adamStep(part(param), c.data(grad).subarray(0, length), part(m), part(v), o);
    part(param).set(r.param);
    part(m).set(r.m);
    part(v).set(r.v);
  }
});
/** flat[offsets[i] .. + parts[i].length) = parts[i]. */
export const pack = defineKernel(packGpu, (c, flat, parts, offsets) => parts.forEach((p, i) => c.data(flat).set(c.data(p), offsets[i])));
/** y = x·mask and the mask, of 0 and 1/(1-p), deterministic in seed: one pass. */
export const dropout = defineKernel(dropoutGpu, (c, x, p, seed) => {
  const mask = ref.dropoutMask(x.length, p, valueOf(seed) >>> 0);
  const data = c.data(x);
  return { y: c.out(mask.map((m, i) => Math.fround(data[i] * m))), mask: c.out(mask) };
});
/** SpecAugment's masks for x [N, C, L] (shape), deterministic in seed: 0 inside each row's random band and frame
 * spans, 1 elsewhere. */
export const spanMask = defineKernel(spanMaskGpu, (c, shape, o, seed) => {
  const [rows, channels, frames] = checkSpanMask(shape, o);
  return c.out(ref.spanMask(rows, channels, frames, o, valueOf(seed) >>> 0));
});
