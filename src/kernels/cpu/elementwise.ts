// CPU reference of the elementwise family (torch semantics): unary maps and their derivatives, broadcasting
// binary ops, affine, gradient accumulation, sums down to a broadcast shape, broadcasting up, concat and slice.
// Layout: dense row-major; the shapes of binary/sumTo/broadcastTo have equal rank and every operand dim equals
// the output dim or is 1 (NumPy broadcasting after ops.ts has padded with leading 1s).

import type { BinaryOp } from '../elementwise.js';

/** √(2/π) and the cubic coefficient of gelu's tanh approximation (torch's approximate='tanh'). */
const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
const LEAKY_SLOPE = 0.01;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

interface UnaryDefinition {
  value(x: number): number;
  /** d op(x)/dx, given x and y = op(x); at the kinks as torch (relu'(0) = 0, |·|'(0) = 0, leakyRelu'(0) = slope). */
  derivative(x: number, y: number): number;
}

/** Every unary op, in the order of its code (OP) in shaders/elementwise-map.wgsl, which has the GPU's two cases
 * of each. A new op is a row here, its two cases there, and its export in src/engine/ops.ts; the kernel suite
 * checks every row (test/suite/elementwise.ts). */
const UNARY = {
  relu: { value: (x) => (x < 0 ? 0 : x), derivative: (x) => (x <= 0 ? 0 : 1) }, // NaN: NaN, and a gradient of 1
  sigmoid: { value: sigmoid, derivative: (_, y) => y * (1 - y) },
  tanh: { value: Math.tanh, derivative: (_, y) => 1 - y * y },
  exp: { value: Math.exp, derivative: (_, y) => y },
  log: { value: Math.log, derivative: (x) => 1 / x },
  neg: { value: (x) => -x, derivative: () => -1 },
  abs: { value: Math.abs, derivative: Math.sign },
  sqrt: { value: Math.sqrt, derivative: (_, y) => 0.5 / y },
  square: { value: (x) => x * x, derivative: (x) => 2 * x },
  gelu: {
    value: (x) => 0.5 * x * (1 + Math.tanh(GELU_K * (x + GELU_C * x * x * x))),
    derivative: (x) => {
      const t = Math.tanh(GELU_K * (x + GELU_C * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * x * x);
    },
  },
  leakyRelu: { value: (x) => (x > 0 ? x : LEAKY_SLOPE * x), derivative: (x) => (x > 0 ? 1 : LEAKY_SLOPE) },
  silu: { value: (x) => x * sigmoid(x), derivative: (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))) },
} satisfies Record<string, UnaryDefinition>;

export type UnaryOp = keyof typeof UNARY;
/** The unary ops by code. */
export const UNARY_OPS = Object.keys(UNARY) as UnaryOp[];

export function unary(op: UnaryOp, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, UNARY[op].value);
}

/** dx = dy · op'(x). */
export function unaryBackward(op: UnaryOp, x: ArrayLike<number>, y: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const { derivative } = UNARY[op];
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = dy[i] * derivative(x[i], y[i]);
  return dx;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Offset in a tensor of `shape` (dims equal to outShape's or 1) of the element at out-coordinates `coord`. */
function broadcastOffset(coord: number[], shape: number[]): number {
  let offset = 0;
  for (let d = 0; d < shape.length; d++) offset = offset * shape[d] + (shape[d] === 1 ? 0 : coord[d]);
  return offset;
}

/** Calls fn(outIndex, coord) for every element of outShape in row-major order. */
function forEachIndex(outShape: number[], fn: (index: number, coord: number[]) => void): void {
  const coord = outShape.map(() => 0);
  const n = size(outShape);
  for (let i = 0; i < n; i++) {
    fn(i, coord);
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++coord[d] < outShape[d]) break;
      coord[d] = 0;
    }
  }
}

export function binary(op: BinaryOp, a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[], outShape: number[]): Float64Array {
  const out = new Float64Array(size(outShape));
  forEachIndex(outShape, (i, coord) => {
    const u = a[broadcastOffset(coord, aShape)];
    const v = b[broadcastOffset(coord, bShape)];
    out[i] = op === 'add' ? u + v : op === 'sub' ? u - v : op === 'mul' ? u * v : u / v;
  });
  return out;
}

export function affine(x: ArrayLike<number>, alpha: number, beta: number): Float64Array {
  return Float64Array.from(x, (v) => alpha * v + beta);
}

/** The new value of acc = alpha·acc + beta·x (the backend stores it in place); acc + x by default. */
export function accumulate(acc: ArrayLike<number>, x: ArrayLike<number>, alpha = 1, beta = 1): Float64Array {
  return Float64Array.from(acc, (v, i) => alpha * v + beta * x[i]);
}

/** Sums x [shape] down to outShape (same rank, each out dim equal to the x dim or 1), times scale: broadcastTo's
 * adjoint (scale 1), a mean (1/count). */
export function sumTo(x: ArrayLike<number>, shape: number[], outShape: number[], scale = 1): Float64Array {
  const out = new Float64Array(size(outShape));
  forEachIndex(shape, (i, coord) => {
    out[broadcastOffset(coord, outShape)] += x[i];
  });
  return scale === 1 ? out : out.map((v) => v * scale);
}

/** Repeats x [shape] (each dim equal to outShape's or 1) up to outShape. */
export function broadcastTo(x: ArrayLike<number>, shape: number[], outShape: number[]): Float64Array {
  const out = new Float64Array(size(outShape));
  forEachIndex(outShape, (i, coord) => {
    out[i] = x[broadcastOffset(coord, shape)];
  });
  return out;
}

/** Concatenation along axis: each tensor is viewed as [outer, shape[axis]·inner] rows laid side by side. */
export function concat(inputs: ArrayLike<number>[], shapes: number[][], axis: number): Float64Array {
  const outer = size(shapes[0].slice(0, axis));
  const inner = size(shapes[0].slice(axis + 1));
  const rowLengths = shapes.map((s) => s[axis] * inner);
  const outRow = rowLengths.reduce((a, b) => a + b, 0);
  const out = new Float64Array(outer * outRow);
  let column = 0;
  inputs.forEach((x, k) => {
    const row = rowLengths[k];
    for (let r = 0; r < outer; r++) {
      for (let j = 0; j < row; j++) out[r * outRow + column + j] = x[r * row + j];
    }
    column += row;
  });
  return out;
}

/** x[..., start : start+length, ...] along axis. */
export function slice(x: ArrayLike<number>, shape: number[], axis: number, start: number, length: number): Float64Array {
  const outer = size(shape.slice(0, axis));
  const inner = size(shape.slice(axis + 1));
  const inRow = shape[axis] * inner;
  const outRow = length * inner;
  const out = new Float64Array(outer * outRow);
  for (let r = 0; r < outer; r++) {
    for (let j = 0; j < outRow; j++) out[r * outRow + j] = x[r * inRow + start * inner + j];
  }
  return out;
}
