// The elementwise family on WebGPU: unary maps and their derivatives, broadcasting binary ops, affine, in-place
// accumulation (acc = α·acc + β·x: gradient sums, running averages), fill, sums down to a broadcast shape (sumTo)
// and repeats up to one (broadcastTo); each kernel's CPU reference (./cpu/elementwise.ts, which states the semantics) beside it at
// the end of this file.
//
// Layout and shape rules: dense row-major float32. binary/sumTo/broadcastTo take shapes of equal rank whose
// dims equal the output's (the larger) or are 1. Before dispatch those shapes are collapsed: size-1 output dims
// are dropped and neighbouring dims that every operand treats alike (both present, or both broadcast/reduced)
// are merged, so [N,C,L] + [1,C,1] is a rank-3 problem, [N,C,L] + [N,C,L] a flat map, and sumTo of
// [N,C,L] to [1,C,1] sums a reduced dim N, over a kept dim C, over a reduced dim L.
//
// Shaders: shaders/elementwise-map.wgsl (same-shape maps, a vec4 per invocation), elementwise-broadcast.wgsl
// (broadcasting binary ops and broadcastTo over up to 6 collapsed dims, written as vec4s),
// and elementwise-reduce.wgsl (sumTo: partial sums per output, summed again level by level, no workgroup
// barriers); concat and slice, block copies, are in ./elementwise-copy.ts. Adjoint pairs: unary/unaryBackward,
// sumTo/broadcastTo (binary's gradients are binary products summed down with sumTo, in ops.ts).

import { Params } from '../gpu/params.js';
import { grid1d, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, GpuStorage, gpuStorage, vec4Bytes, type Binding } from '../gpu/storage.js';
import { defineKernel, type Storage } from './backend.js';
import * as ref from './cpu/elementwise.js';
import type { UnaryOp } from './cpu/elementwise.js';
import common from '../../shaders/elementwise-common.wgsl';
import mapKernels from '../../shaders/elementwise-map.wgsl';
import broadcastKernels from '../../shaders/elementwise-broadcast.wgsl';
import reduceShader from '../../shaders/elementwise-reduce.wgsl';

// WGSL has no includes: the family's operation selector is prepended to the shaders that use it.
const mapShader = common + mapKernels;
const broadcastShader = common + broadcastKernels;

const WG = 256;
const MAX_RANK = 6;

export type { UnaryOp } from './cpu/elementwise.js';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** The shader's OP code of each unary op: its place in the reference's table. */
const UNARY_CODES = new Map(ref.UNARY_OPS.map((op, code) => [op, code]));
const BINARY_CODES: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3 };

export const product = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

// ------------------------------------------------------------------------------------------ same-shape maps

/**
 * The kernels read and write whole vec4s: every buffer must hold ceil(length/4) of them. Pooled buffers always
 * do (sizes are rounded up to 32 bytes); the slack past `length` is never read as data.
 */
export function vec4Buffers(kernel: string, storages: GpuStorage[]): Binding[] {
  for (const s of storages) {
    if (!s.isView && s.buffer.size < vec4Bytes(s.length)) throw new Error(`elementwise.${kernel}: buffer "${s.buffer.label}" of ${s.buffer.size} bytes does not hold ${s.length} floats as whole vec4s (allocate through the runtime's pool)`);
  }
  return storages.map((s) => s.binding);
}

/** Dispatches a map of shaders/elementwise-map.wgsl over n elements, one vec4 per invocation. */
function map(rt: GpuRuntime, name: string, storages: GpuStorage[], n: number, op = 0, alpha = 0, beta = 0): void {
  if (n === 0) return;
  const count = Math.ceil(n / 4);
  rt.dispatch({
    kernel: `elementwise.${name}`,
    shapes: `[${n}]`,
    shader: mapShader,
    entryPoint: name,
    constants: { WG, OP: op },
    params: new Params().u32(count).f32(alpha, beta),
    buffers: vec4Buffers(name, storages),
    workgroups: grid1d(count, WG),
  });
}

function unaryGpu(rt: GpuRuntime, op: UnaryOp, x: Storage): Storage {
  const input = gpuStorage(x);
  const y = allocate(rt, input.length, op);
  map(rt, 'unary', [input, y], input.length, UNARY_CODES.get(op)!);
  return y;
}

/** dx = dy · op'(x), using y = op(x) where that is cheaper (sigmoid, tanh, exp, sqrt). */
function unaryBackwardGpu(rt: GpuRuntime, op: UnaryOp, x: Storage, y: Storage, dy: Storage): Storage {
  const n = x.length;
  const dx = allocate(rt, n, `${op}.backward`);
  map(rt, 'unaryBackward', [gpuStorage(x), gpuStorage(y), gpuStorage(dy), dx], n, UNARY_CODES.get(op)!);
  return dx;
}

/** out = alpha·x + beta. */
function affineGpu(rt: GpuRuntime, x: Storage, alpha: number, beta: number): Storage {
  const y = allocate(rt, x.length, 'affine');
  map(rt, 'affine', [gpuStorage(x), y], x.length, 0, alpha, beta);
  return y;
}

/** acc = alpha·acc + beta·x in place (writes acc's buffer): gradient sums (1, 1) and running averages in one pass. */
function accumulateGpu(rt: GpuRuntime, acc: Storage, x: Storage, alpha = 1, beta = 1): void {
  const target = gpuStorage(acc);
  const source = gpuStorage(x);
  // A buffer cannot be bound twice in one dispatch when one binding is writable: acc onto itself is a scaling.
  if (target.binding === source.binding) map(rt, 'scaleInPlace', [target], acc.length, 0, alpha + beta);
  else map(rt, 'accumulate', [target, source], acc.length, 0, alpha, beta);
}

/** A new storage of `length` copies of value (cleared for 0). */
/** `label` names the buffer, and the caller in the pool's error for one too large (zeros, not fill). */
function fillGpu(rt: GpuRuntime, length: number, value: number, label = 'fill'): Storage {
  const out = allocate(rt, length, label);
  if (value === 0) rt.clear(out.buffer, length * 4);
  else map(rt, 'fill', [out], length, 0, value);
  return out;
}

// ------------------------------------------------------------------------------------------ broadcasting

interface CollapsedDim {
  size: number;
  /** Per operand: whether the operand spans this dim (false: size 1, broadcast). */
  present: boolean[];
}

/** Drops size-1 output dims and merges neighbours that every operand spans alike; outermost first. */
function collapse(outShape: number[], operandShapes: number[][]): CollapsedDim[] {
  const dims: CollapsedDim[] = [];
  outShape.forEach((size, d) => {
    if (size === 1) return;
    const present = operandShapes.map((s) => s[d] !== 1);
    const last = dims[dims.length - 1];
    if (last && last.present.every((p, k) => p === present[k])) last.size *= size;
    else dims.push({ size, present });
  });
  return dims;
}

/** Element strides of operand k along the collapsed dims, innermost first (0 where broadcast). */
function stridesOf(dims: CollapsedDim[], k: number): number[] {
  const strides: number[] = [];
  let stride = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    strides.push(dims[d].present[k] ? stride : 0);
    if (dims[d].present[k]) stride *= dims[d].size;
  }
  return strides;
}

const pad6 = (values: number[], fill: number) => [...values, ...Array(MAX_RANK - values.length).fill(fill)];

/**
 * A WG-invocation workgroup shape for rows of `length` units: WGX columns (the next power of two, up to WG)
 * by WG/WGX rows, so short rows share a workgroup instead of idling most of its lanes. Returns the
 * constants, the column blocks per row and the workgroup count for `rows` rows.
 */
export function rowTiling(rows: number, length: number) {
  const wgx = Math.min(WG, 2 ** Math.ceil(Math.log2(Math.max(1, length))));
  const wgy = WG / wgx;
  const blocksPerRow = Math.ceil(length / wgx);
  return { constants: { WGX: wgx, WGY: wgy }, blocksPerRow, workgroups: grid1d(Math.ceil(rows / wgy) * blocksPerRow, 1) };
}

/**
 * Dispatches a kernel of shaders/elementwise-broadcast.wgsl over the collapsed dims: rows of vec4s when the
 * innermost dim is a multiple of 4, else 4 consecutive outputs per invocation.
 */
function broadcasting(rt: GpuRuntime, name: 'binary' | 'broadcast', dims: CollapsedDim[], storages: GpuStorage[], shapes: string, op = 0): void {
  if (dims.length > MAX_RANK) throw new Error(`elementwise.${name}: ${dims.length} dims after collapsing ${shapes}, at most ${MAX_RANK} supported`);
  const sizes = dims.map((d) => d.size).reverse();
  const n = product(sizes);
  const byRows = sizes[0] % 4 === 0;
  const rows = n / sizes[0];
  const tiling = byRows ? rowTiling(rows, sizes[0] / 4) : { constants: { WGX: WG }, blocksPerRow: 0, workgroups: grid1d(Math.ceil(n / 4), WG) };
  rt.dispatch({
    kernel: `elementwise.${name}`,
    shapes,
    shader: broadcastShader,
    entryPoint: `${name}${byRows ? 'Rows' : 'Flat'}`,
    constants: { ...tiling.constants, RANK: dims.length, OP: op },
    params: new Params()
      .u32(byRows ? rows : Math.ceil(n / 4), tiling.blocksPerRow, n)
      .u32(...pad6([byRows ? sizes[0] / 4 : sizes[0], ...sizes.slice(1)], 1))
      .u32(...pad6(stridesOf(dims, 0), 0))
      .u32(...pad6(dims[0].present.length > 1 ? stridesOf(dims, 1) : [], 0)),
    buffers: vec4Buffers(name, storages),
    workgroups: tiling.workgroups,
  });
}

/** out = a ∘ b with NumPy broadcasting (shapes of equal rank, each dim equal to outShape's or 1). */
function binaryGpu(rt: GpuRuntime, op: BinaryOp, a: Storage, aShape: number[], b: Storage, bShape: number[], outShape: number[]): Storage {
  const n = product(outShape);
  const out = allocate(rt, n, op);
  if (n === 0) return out;
  const storages = [gpuStorage(a), gpuStorage(b), out];
  const dims = collapse(outShape, [aShape, bShape]);
  if (dims.length === 0 || (dims.length === 1 && dims[0].present[0] && dims[0].present[1])) {
    // Same shapes (or a single element): a flat map.
    map(rt, 'binary', storages, n, BINARY_CODES[op]);
  } else {
    broadcasting(rt, 'binary', dims, storages, `a[${aShape}] b[${bShape}] out[${outShape}]`, BINARY_CODES[op]);
  }
  return out;
}

/** Repeats x [shape] (dims equal to outShape's or 1) up to outShape: sumTo's adjoint. */
function broadcastToGpu(rt: GpuRuntime, x: Storage, shape: number[], outShape: number[]): Storage {
  const n = product(outShape);
  const out = allocate(rt, n, 'broadcastTo');
  if (n === 0) return out;
  const input = gpuStorage(x);
  const dims = collapse(outShape, [shape]);
  if (dims.length === 0 || (dims.length === 1 && dims[0].present[0])) {
    rt.copy(input.buffer, out.buffer, n * 4, input.byteOffset);
  } else {
    broadcasting(rt, 'broadcast', dims, [input, out], `x[${shape}] out[${outShape}]`);
  }
  return out;
}

// ------------------------------------------------------------------------------------------ sumTo

interface Axis {
  size: number;
  stride: number;
}

/** The collapsed summation: out[o] = Σ over the reduced axes of x[offset(kept o) + offset(reduced)]. */
interface Reduction {
  /** Kept and reduced axes, innermost first, at most 3 of each; output order is row-major over kept. */
  kept: Axis[];
  reduced: Axis[];
}

/** Values summed serially per invocation: at most SERIAL_MAX (float32 rounding stays small before the next
 * level sums the partials), at least SERIAL_MIN when a reduction is split for parallelism (enough work to pay
 * for the invocation). */
const SERIAL_MIN = 32;
const SERIAL_MAX = 256;
/** About as many invocations as keep a large GPU busy; smaller problems are split only for accuracy. */
const TARGET_INVOCATIONS = 65536;

function reduceShape(shape: number[], outShape: number[]): Reduction {
  const dims = collapse(shape, [outShape]); // present = kept
  const kept: Axis[] = [];
  const reduced: Axis[] = [];
  let stride = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    (dims[d].present[0] ? kept : reduced).push({ size: dims[d].size, stride });
    stride *= dims[d].size;
  }
  return { kept, reduced };
}

/** Sums x [shape] down to outShape (same rank; each out dim equals the x dim or is 1), times `scale` (a mean's
 * 1/count, a difference's −1: folded into the last pass rather than a pass of its own). */
export function sumToGpu(rt: GpuRuntime, x: Storage, shape: number[], outShape: number[], scale = 1): Storage {
  const input = gpuStorage(x);
  const m = product(outShape);
  const { kept, reduced } = reduceShape(shape, outShape);
  const shapes = `x[${shape}] out[${outShape}]`;
  if (kept.length > 3 || reduced.length > 3) throw new Error(`elementwise.sumTo ${shapes}: too many alternating kept and summed dims (at most 3 of each)`);
  if (input.length === 0 || m === 0) {
    const out = allocate(rt, m, 'sumTo');
    rt.clear(out.buffer, m * 4);
    return out;
  }
  if (reduced.length === 0) {
    if (scale !== 1) return affineGpu(rt, input, scale, 0) as GpuStorage;
    const out = allocate(rt, m, 'sumTo');
    rt.copy(input.buffer, out.buffer, m * 4, input.byteOffset);
    return out;
  }
  return reduce(rt, input.binding, { kept, reduced }, shapes, scale);
}

/** Mixed-radix digits of `value` in the radix of the reduced axes (innermost first). */
function digitsOf(value: number, axes: Axis[]): number[] {
  return axes.map((a) => {
    const digit = value % a.size;
    value = Math.floor(value / a.size);
    return digit;
  });
}

/**
 * One level of the summation (shaders/elementwise-reduce.wgsl): `shares` partial sums per output, then, if
 * there are several, the same again on the partials.
 */
function reduce(rt: GpuRuntime, x: Binding, plan: Reduction, shapes: string, scale: number): GpuStorage {
  const outputs = product(plan.kept.map((a) => a.size));
  let length = product(plan.reduced.map((a) => a.size));
  let { kept, reduced } = plan;
  // Neighbouring invocations take neighbouring outputs when the kept axis is innermost, else neighbouring
  // shares of one output (then a contiguous innermost reduced axis of a multiple of 4 is read as vec4s).
  const outputFastest = kept.length > 0 && kept[0].stride === 1;
  const vec4 = !outputFastest && reduced[0].stride === 1 && reduced[0].size % 4 === 0;
  if (vec4) {
    kept = kept.map((a) => ({ size: a.size, stride: a.stride / 4 }));
    reduced = reduced.map((a, i) => ({ size: i === 0 ? a.size / 4 : a.size, stride: i === 0 ? 1 : a.stride / 4 }));
    length /= 4;
  }
  const forAccuracy = Math.ceil(length / SERIAL_MAX);
  const forParallelism = Math.min(Math.ceil(TARGET_INVOCATIONS / outputs), Math.floor(length / SERIAL_MIN));
  let shares = outputs * length <= TARGET_INVOCATIONS ? forAccuracy : Math.max(forAccuracy, forParallelism);
  // See shaders/elementwise-reduce.wgsl for how shares walk the reduction.
  if (!outputFastest && shares > WG) shares = Math.ceil(shares / WG) * WG;
  const lanes = outputFastest ? 1 : Math.min(shares, WG);
  const segment = outputFastest ? Math.ceil(length / shares) : Math.ceil(length / (shares / lanes));
  const jobs = outputs * shares;
  const result = allocate(rt, jobs, shares === 1 ? 'sumTo' : 'sumTo.partials');
  const k = pad3(kept);
  const r = pad3(reduced);
  rt.dispatch({
    kernel: 'elementwise.sumTo',
    shapes: shares === 1 ? shapes : `${shapes} in ${shares} shares`,
    shader: reduceShader,
    entryPoint: vec4 ? 'sumVec4' : 'sum',
    constants: { WG },
    params: new Params()
      .u32(outputs, shares, length, outputFastest ? 1 : 0, lanes, segment)
      .u32(...k.map((a) => a.size), ...k.map((a) => a.stride))
      .u32(...r.map((a) => a.size), ...r.map((a) => a.stride))
      .u32(...digitsOf(lanes, r))
      .f32(shares === 1 ? scale : 1),
    buffers: [x, result.binding],
    workgroups: grid1d(jobs, WG),
  });
  if (shares === 1) return result;
  // The partials are [shares, outputs] (outputFastest) or [outputs, shares].
  const partials: Reduction = outputFastest
    ? { kept: [{ size: outputs, stride: 1 }], reduced: [{ size: shares, stride: outputs }] }
    : { kept: outputs > 1 ? [{ size: outputs, stride: shares }] : [], reduced: [{ size: shares, stride: 1 }] };
  const out = reduce(rt, result.binding, partials, `${shapes} partials`, scale);
  rt.release(result.buffer);
  return out;
}

const pad3 = (axes: Axis[]) => [...axes, ...Array(3 - axes.length).fill({ size: 1, stride: 0 })] as Axis[];

// ------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (above) and on the CPU (the reference).

export const unary = defineKernel(unaryGpu, (c, op, x) => c.out(ref.unary(op, c.data(x))));
export const unaryBackward = defineKernel(unaryBackwardGpu, (c, op, x, y, dy) => c.out(ref.unaryBackward(op, c.data(x), c.data(y), c.data(dy))));
export const binary = defineKernel(binaryGpu, (c, op, a, aShape, b, bShape, outShape) => c.out(ref.binary(op, c.data(a), aShape, c.data(b), bShape, outShape)));
export const affine = defineKernel(affineGpu, (c, x, alpha, beta) => c.out(ref.affine(c.data(x), alpha, beta)));
export const accumulate = defineKernel(accumulateGpu, (c, acc, x, alpha?, beta?) => c.data(acc).set(ref.accumulate(c.data(acc), c.data(x), alpha, beta)));
export const fill = defineKernel(fillGpu, (c, length, value, _label?) => c.out(new Float32Array(length).fill(value)));
export const sumTo = defineKernel(sumToGpu, (c, x, shape, outShape, scale?) => c.out(ref.sumTo(c.data(x), shape, outShape, scale)));
export const broadcastTo = defineKernel(broadcastToGpu, (c, x, shape, outShape) => c.out(ref.broadcastTo(c.data(x), shape, outShape)));
