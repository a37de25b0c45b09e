// The argument checks of the ops: each throws a ShapeError (or, for a disposed tensor or mixed backends, an Error)
// that names the op, the tensor, its shape and the parameter, before anything is dispatched.

import { WebGpuBackend, type Backend } from '../kernels/backend.js';
import { MAX_TENSOR_ELEMENTS } from './creation.js';
import { disposedMessage, ShapeError, type Tensor } from './tensor.js';

export function rank(x: Tensor, r: number, what: string): void {
  if (x.shape.length !== r) throw new ShapeError(`${what}: expected ${r} dimensions, got ${x.describe()}`);
}

export function positiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 1) throw new ShapeError(`${what} must be a positive integer, got ${v}`);
  notPastTensors(v, what);
}

export function nonNegativeInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0) throw new ShapeError(`${what} must be a non-negative integer, got ${v}`);
  notPastTensors(v, what);
}

/** A size, stride or padding past the longest tensor: the kernels' uniforms hold 32-bit integers, and a stride of
 * 2^40 had been refused there as "uniform field 5 (u32) must be an integer from 0 to 4294967295", naming no op. */
function notPastTensors(v: number, what: string): void {
  if (v > MAX_TENSOR_ELEMENTS) throw new ShapeError(`${what} is ${v}, more than MAX_TENSOR_ELEMENTS (${MAX_TENSOR_ELEMENTS}), longer than any tensor`);
}

export function normaliseDim(dim: number, r: number, op: string): number {
  const d = dim < 0 ? dim + r : dim;
  if (!Number.isInteger(d) || d < 0 || d >= r) throw new ShapeError(`${op}: dim ${dim} is out of range for ${r} dimensions`);
  return d;
}

/** The tensors an op reads (null for an absent bias): each alive and all on one backend, checked before anything is
 * allocated or dispatched. A disposed one said only "x[2,3] was disposed", not which op used it; one from another
 * backend (made before init() switched) failed deep in a kernel with "a CPU tensor was passed to a WebGPU kernel",
 * naming neither the op nor the tensor, where only the first two operands were compared. */
export function usable(op: string, ...tensors: (Tensor | null | undefined)[]): void {
  let first: Tensor | null = null;
  for (const t of tensors) {
    if (!t) continue;
    if (t.disposed) throw new Error(`${op}: ${disposedMessage(t)}`);
    if (!first) first = t;
    else if (t.backend !== first.backend) mixedBackends(first, t, op);
  }
}

function mixedBackends(a: Tensor, b: Tensor, op: string): never {
  // After a device is lost and init() gives a new one, the lost device's tensors (a recogniser's weights, loaded
  // before a driver reset) meet the new device's (its input): "is on webgpu but … is on webgpu" hid that the loss
  // is why, and that the model must be loaded again.
  for (const backend of [a.backend, b.backend]) if (backend instanceof WebGpuBackend) backend.rt.throwIfLost();
  throw new Error(`${op}: ${a.describe()} is on ${a.backend.name} but ${b.describe()} is on ${b.backend.name}`);
}

/** How many workgroups one dimension of a dispatch may have on this backend (no limit on the CPU). */
export function workgroupLimit(backend: Backend): number {
  return backend instanceof WebGpuBackend ? backend.rt.profile.limits.maxComputeWorkgroupsPerDimension : Infinity;
}

/** An op's output is bounded as tensor() bounds what it is given (MAX_TENSOR_ELEMENTS): nothing bounded it on the CPU
 * backend, where a broadcast [32768,1] + [1,16384] or a matmul [32768,1]·[1,16384] set out to fill 2^29 float64s
 * (4 GiB, then its float32 copy). On WebGPU the buffer pool refuses far less (one storage binding). */
export function boundedOutput(op: string, shape: number[]): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > MAX_TENSOR_ELEMENTS) throw new ShapeError(`${op}: its output [${shape}] would have ${size} elements, more than the limit of ${MAX_TENSOR_ELEMENTS} (MAX_TENSOR_ELEMENTS)`);
}

/** On WebGPU an op's output must fit one storage binding (maxStorageBufferBindingSize, 128 MiB on lavapipe):
 * checked before anything is allocated, naming the op and its operands, where the buffer pool refused it naming
 * only the kernel's buffer ('gemm.out: 160000000 bytes …' for matmul a[8,1]·b[1,5000000]). */
export function fitsBinding(op: string, backend: Backend, shape: number[], operands: string): void {
  if (!(backend instanceof WebGpuBackend)) return;
  const limit = backend.rt.storage.limit; // what the buffer pool would refuse
  const bytes = 4 * shape.reduce((a, b) => a * b, 1);
  if (bytes > limit.bytes) throw new RangeError(`${op}: its output [${shape}] from ${operands} would be ${bytes} bytes, more than this adapter's ${limit.name}, ${limit.bytes} bytes: use smaller tensors`);
}
