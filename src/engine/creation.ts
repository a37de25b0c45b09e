// Tensors from host data (`tensor`) or filled with a value (`zeros`, `ones`), on the backend `init()` chose.
// Shapes are checked (and bounded) before anything is allocated.

import { fill } from '../kernels/elementwise.js';
import { defaultBackend } from './context.js';
import { ShapeError, Tensor } from './tensor.js';

/** The most elements a tensor created by tensor(), zeros() or ones() may have: 2^28 (1 GiB of float32). Larger
 * shapes are refused with a ShapeError before anything is allocated, instead of an out-of-memory kill on the CPU
 * backend. On WebGPU the buffer pool refuses, with a RangeError, any tensor over the adapter's own limit on one
 * storage binding (128 MiB on lavapipe and many GPUs), op outputs included. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

function checkShape(shape: number[], what: string): void {
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(`${what}: shape [${shape}] must be a non-empty list of positive integers`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > MAX_TENSOR_ELEMENTS) {
    throw new ShapeError(`${what}: shape [${shape}] has ${size} elements, more than the limit of ${MAX_TENSOR_ELEMENTS} (MAX_TENSOR_ELEMENTS)`);
  }
}

export interface TensorOptions {
  requiresGrad?: boolean;
  name?: string;
}

export function tensor(data: Float32Array | number[], shape: number[], options: TensorOptions = {}): Tensor {
  checkShape(shape, options.name ?? 'tensor');
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    throw new ShapeError(`${options.name ?? 'tensor'}: ${values.length} values do not fill shape [${shape}] (${size} elements)`);
  }
  const backend = defaultBackend();
  const t = new Tensor(backend.upload(values, options.name), [...shape], backend, options.requiresGrad ?? false);
  t.name = options.name;
  return t;
}

export function zeros(shape: number[], options: TensorOptions = {}): Tensor {
  return filled(shape, 0, options);
}

export function ones(shape: number[], options: TensorOptions = {}): Tensor {
  return filled(shape, 1, options);
}

function filled(shape: number[], value: number, options: TensorOptions): Tensor {
  const what = options.name ?? (value === 0 ? 'zeros' : 'ones');
  checkShape(shape, what);
  const backend = defaultBackend();
  const size = shape.reduce((a, b) => a * b, 1);
  const t = new Tensor(fill(backend, size, value, what), [...shape], backend, options.requiresGrad ?? false);
  t.name = options.name;
  return t;
}
