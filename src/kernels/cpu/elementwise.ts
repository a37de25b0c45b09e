// CPU reference of the elementwise family (torch semantics): unary maps and their derivatives, broadcasting
// binary ops, affine, gradient accumulation, sums down to a broadcast shape, broadcasting up, concat and slice.
// Layout: dense row-major; the shapes of binary/sumTo/broadcastTo have equal rank and every operand dim equals
// the output dim or is 1 (NumPy broadcasting after ops.ts has padded with leading 1s).

import type { BinaryOp, UnaryOp } from '../elementwise.js';

/** √(2/π) and the cubic coefficient of gelu's tanh approximation (torch's approximate='tanh'). */
const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
const LEAKY_SLOPE = 0.01;

function unaryValue(op: UnaryOp, x: number): number {
  switch (op) {
    case 'relu': return x > 0 ? x : 0;
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh(x);
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'neg': return -x;
    case 'abs': return Math.abs(x);
    case 'sqrt': return Math.sqrt(x);
    case 'square': return x * x;
    case 'gelu': return 0.5 * x * (1 + Math.tanh(GELU_K * (x + GELU_C * x * x * x)));
    case 'leakyRelu': return x > 0 ? x : LEAKY_SLOPE * x;
  }
}

/** d op(x)/dx, given x and y = op(x); at the kinks as torch (relu'(0) = 0, |·|'(0) = 0, leakyRelu'(0) = slope). */
function unaryDerivative(op: UnaryOp, x: number, y: number): number {
  switch (op) {
    case 'relu': return x > 0 ? 1 : 0;
    case 'sigmoid': return y * (1 - y);
    case 'tanh': return 1 - y * y;
    case 'exp': return y;
    case 'log': return 1 / x;
    case 'neg': return -1;
    case 'abs': return Math.sign(x);
    case 'sqrt': return 0.5 / y;
    case 'square': return 2 * x;
    case 'gelu': {
      const t = Math.tanh(GELU_K * (x + GELU_C * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * x * x);
    }
    case 'leakyRelu': return x > 0 ? 1 : LEAKY_SLOPE;
  }
}

export function unary(op: UnaryOp, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => unaryValue(op, v));
}

/** dx = dy · op'(x). */
export function unaryBackward(op: UnaryOp, x: ArrayLike<number>, y: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = dy[i] * unaryDerivative(op, x[i], y[i]);
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

/** The new value of acc (the backend stores it in place). */
export function accumulate(acc: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(acc, (v, i) => v + x[i]);
}

/** Sums x [shape] down to outShape (same rank, each out dim equal to the x dim or 1): broadcastTo's adjoint. */
export function sumTo(x: ArrayLike<number>, shape: number[], outShape: number[]): Float64Array {
  const out = new Float64Array(size(outShape));
  forEachIndex(shape, (i, coord) => {
    out[broadcastOffset(coord, outShape)] += x[i];
  });
  return out;
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
