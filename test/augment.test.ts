// Training augmentation: speed perturbation replays a window at the drawn rate (a tone's frequency scales by
// it), stays within the range, leaves a window alone at rate 0, is seeded, and rejects bad arguments.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/engine/random.js';
import { perturbSpeed } from '../src/train/augment.js';
import { peakFrequency, sine } from './signals.js';

const RATE = 16000;
const L = 8000;

/** Two windows of a 500-Hz tone, one after the other. */
const twoTones = () => {
  const tone = Float32Array.from(sine(500, RATE, L / RATE));
  const x = new Float32Array(2 * L);
  x.set(tone, 0);
  x.set(tone, L);
  return x;
};

describe('perturbSpeed', () => {
  it('replays each window at its drawn rate: a tone moves to frequency × rate', () => {
    const x = twoTones();
    // The generator's first two draws are the rates, in order.
    const draws = seededRandom(3);
    const rates = [0, 1].map(() => 0.8 + 0.4 * draws());
    perturbSpeed(x, L, 0.2, seededRandom(3));
    rates.forEach((rate, w) => {
      // Half a window, away from the wrap-around where a faster replay jumps back to the start.
      const f = peakFrequency(x.subarray(w * L, w * L + L / 2), RATE, 300, 700);
      expect(Math.abs(f - 500 * rate)).toBeLessThanOrEqual(4);
    });
    expect(rates[0]).not.toBeCloseTo(rates[1], 2);
  });

  it('is seeded, and rate 0 leaves the windows as they are', () => {
    const [a, b] = [twoTones(), twoTones()];
    perturbSpeed(a, L, 0.1, seededRandom(9));
    perturbSpeed(b, L, 0.1, seededRandom(9));
    expect(a).toEqual(b);
    expect(a).not.toEqual(twoTones());
    const c = twoTones();
    perturbSpeed(c, L, 0, seededRandom(9));
    expect(c).toEqual(twoTones());
  });

  it('rejects a rate range outside [0, 1) and samples that are not whole windows', () => {
    expect(() => perturbSpeed(twoTones(), L, 1, Math.random)).toThrow(/maxChange 1 must be in \[0, 1\)/);
    expect(() => perturbSpeed(twoTones(), L, -0.1, Math.random)).toThrow(/maxChange/);
    expect(() => perturbSpeed(new Float32Array(L + 1), L, 0.1, Math.random)).toThrow(/8001 samples are not whole windows of 8000/);
  });
});
