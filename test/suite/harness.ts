// The kernel suite's tools, shared by vitest (Node: test/kernels/suite.test.ts, test/api.test.ts) and the browser
// page (test/browser): cases receive the public API as `ser`, so the same checks run on the Node build and on the
// browser bundle. A case throws on failure.

import type * as Api from '../../src/index.js';
import type { Storage } from '../../src/index.js';

export type Ser = typeof Api;

export interface SuiteCase {
  family: string;
  name: string;
  run(ser: Ser): Promise<void>;
}

/** ‖out − ref‖ / ‖ref‖ (absolute norm when ref is zero). */
export function relativeError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (out.length !== ref.length) throw new Error(`length mismatch: got ${out.length}, reference ${ref.length}`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i] - ref[i];
    if (Number.isNaN(out[i])) return Infinity;
    diff += d * d;
    norm += ref[i] * ref[i];
  }
  return Math.sqrt(diff) / (norm > 0 ? Math.sqrt(norm) : 1);
}

export function assertClose(out: ArrayLike<number>, ref: ArrayLike<number>, tolerance: number, what: string): void {
  const err = relativeError(out, ref);
  if (!(err <= tolerance)) throw new Error(`${what}: relative error ${err.toExponential(2)} exceeds ${tolerance.toExponential(0)}`);
}

/** Equal element by element within `tolerance` (relative, at least absolute), NaN matching NaN only. */
export function assertSameWithNaN(out: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = 1e-6): void {
  assert(out.length === expected.length, `${what}: ${out.length} values, expected ${expected.length}`);
  for (let i = 0; i < out.length; i++) {
    const same = Number.isNaN(expected[i]) ? Number.isNaN(out[i]) : Math.abs(out[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i]));
    assert(same, `${what}: value ${i} is ${out[i]}, expected ${expected[i]} (got [${Array.from(out).join(', ')}])`);
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Expects fn to throw an error whose message matches `pattern`. */
export async function assertThrows(fn: () => unknown, pattern: RegExp, what: string): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!pattern.test(message)) throw new Error(`${what}: error "${message}" does not match ${pattern}`);
    return;
  }
  throw new Error(`${what}: expected an error matching ${pattern}, nothing was thrown`);
}

/** Deterministic standard-normal values (mulberry32 + Box-Muller). */
export function randn(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(uniform(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  }
  return out;
}

/** Central finite differences of a scalar function f at x (float64 throughout). */
export function numericGradient(f: (x: Float64Array) => number, x: ArrayLike<number>, eps = 1e-6): Float64Array {
  const point = Float64Array.from(x);
  const grad = new Float64Array(point.length);
  for (let i = 0; i < point.length; i++) {
    const saved = point[i];
    point[i] = saved + eps;
    const up = f(point);
    point[i] = saved - eps;
    const down = f(point);
    point[i] = saved;
    grad[i] = (up - down) / (2 * eps);
  }
  return grad;
}

/** Σ r·y for a fixed random r: a scalar whose gradient with respect to y is r (used to check backward passes). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Runs a backend kernel on uploaded inputs and returns its output as a Float32Array. */
export async function download(ser: Ser, s: unknown): Promise<Float32Array> {
  return ser.engine().backend.download(s as never);
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Random values for big tests: a seeded block of a million values (a prime count, so it does not line up
 * with rows) repeated, which spares generating tens of millions of normals. */
export function tiledRandn(n: number, seed: number): Float32Array {
  const block = randn(Math.min(n, 1_000_003), seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += block.length) out.set(block.subarray(0, Math.min(block.length, n - i)), i);
  return out;
}

/** Downloads and releases a result. */
export async function take(ser: Ser, s: Storage): Promise<Float32Array> {
  const backend = ser.engine().backend;
  const out = await backend.download(s);
  backend.release(s);
  return out;
}

export type Checked = 'binary' | 'affine' | 'sumTo' | 'broadcastTo' | 'slice' | 'concat';

/** Runs kernel `name` with its Float32Array arguments (also those in an array: concat's inputs) uploaded, and
 * its CPU reference with the host arrays; checks that they agree and returns the kernel's result. */
export async function againstReference(ser: Ser, name: Checked, args: unknown[], tolerance: number, what: string): Promise<Float32Array> {
  const backend = ser.engine().backend;
  const uploads: Storage[] = [];
  const upload = (a: unknown): unknown => {
    if (Array.isArray(a) && a[0] instanceof Float32Array) return a.map(upload);
    if (!(a instanceof Float32Array)) return a;
    uploads.push(backend.upload(a));
    return uploads[uploads.length - 1];
  };
  const kernel = ser.kernels[name] as (b: typeof backend, ...rest: unknown[]) => Storage;
  const reference = ser.reference[name] as (...rest: unknown[]) => ArrayLike<number>;
  const out = await take(ser, kernel(backend, ...args.map(upload)));
  uploads.forEach((u) => backend.release(u));
  assertClose(out, reference(...args), tolerance, what);
  return out;
}
