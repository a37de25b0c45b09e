// What the training-kernel suites (training.ts, optim.ts) share: data seeded by each case's own name, so a case
// run alone gets the same data as in the whole suite, and a scope that releases what a case uploads.

import type { Backend, Storage } from '../../src/kernels/index.js';
import { randn, type Ser, type SuiteCase } from './harness.js';

export const FORWARD = 1e-5;
export const GRADIENT = 1e-4;
/** The references' backward passes against finite differences (float64 throughout, so far tighter than GRADIENT). */
export const FD = 1e-6;

/** Where fresh() draws next: set at the start of each case from the case's name (seededByName), so a case run
 * alone gets the same data as in the whole suite. Cases run one at a time. */
let seed = 0;
/** Fresh standard-normal data for every call. */
export const fresh = (n: number, scale = 1, offset = 0) => randn(n, seed++).map((v) => v * scale + offset);

/** The case, drawing its data from a seed made of its own name (FNV-1a), whatever ran before it. */
export function seededByName(c: SuiteCase): SuiteCase {
  let hash = 0x811c9dc5;
  for (const ch of c.name) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return { ...c, run: (ser) => ((seed = hash), c.run(ser)) };
}

/** Uploads inputs, runs `body` and releases what it made. */
export async function withBackend<T>(ser: Ser, body: (b: Backend, keep: (s: Storage) => Storage) => Promise<T>): Promise<T> {
  const b = ser.engine().backend;
  const made: Storage[] = [];
  try {
    return await body(b, (s) => (made.push(s), s));
  } finally {
    for (const s of made) b.release(s);
  }
}

export const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
