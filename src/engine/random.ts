// The one seeded generator of the project (initialisation, shuffling, dropout seeds, folds, synthetic speech),
// so that a seed means the same stream everywhere.

/** The largest seed that names its own stream: seeds are read as 32-bit integers (`>>> 0`), so 2^32 + 1 is 1. */
export const MAX_SEED = 2 ** 32 - 1;

/** mulberry32: a small, fast, well-mixed 32-bit generator; uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of stream `index` of `seed`'s family (the murmur3 finaliser of both), for parts that draw from streams
 * of their own so that what one part draws does not shift another's draws. */
export function streamSeed(seed: number, index: number): number {
  let h = ((seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
