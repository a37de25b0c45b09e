// Training augmentation: speed perturbation replays a window at the drawn rate (a tone's frequency scales by
// it), stays within the range, leaves a window alone at rate 0, is seeded, and rejects bad arguments; additive
// noise lands at each window's drawn SNR, white and Gaussian, leaves silence silent, rejects bad arguments, and
// is what `fit` trains on when asked.
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../src/engine/context.js';
import { seededRandom } from '../src/engine/random.js';
import { toExamples } from '../src/train/dataset.js';
import { generateSyntheticCorpus } from '../src/train/synthetic.js';
import { DEFAULT_TRAIN_OPTIONS, fit, type TrainOptions } from '../src/train/trainer.js';
import { addNoise, perturbSpeed } from '../src/train/augment.js';
import { peakFrequency, sine } from './signals.js';
import { tinyModel } from './tiny-experiment.js';

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

describe('addNoise', () => {
  const power = (x: Float32Array) => x.reduce((sum, v) => sum + v * v, 0) / x.length;

  it("adds noise at each window's drawn SNR, of its own power", () => {
    // Two windows of the tone, the second ten times louder: each gets noise relative to itself.
    const x = twoTones();
    for (let t = L; t < 2 * L; t++) x[t] *= 10;
    const clean = Float32Array.from(x);
    // The first draw of each window is its SNR (the draws of the noise follow it).
    const random = seededRandom(5);
    const draws: number[] = [];
    addNoise(x, L, [5, 25], () => {
      const u = random();
      draws.push(u);
      return u;
    });
    const snrs = [draws[0], draws[1 + L]].map((u) => 5 + 20 * u);
    [0, 1].forEach((w) => {
      const window = clean.subarray(w * L, (w + 1) * L);
      const noise = x.subarray(w * L, (w + 1) * L).map((v, t) => v - window[t]);
      const measured = 10 * Math.log10(power(window) / power(noise));
      expect(Math.abs(measured - snrs[w])).toBeLessThan(0.2); // 8000 values: the power's sampling error is ~1.6 %
    });
    expect(snrs[0]).not.toBeCloseTo(snrs[1], 0);
  });

  it('adds white Gaussian noise: zero mean, the drawn power, kurtosis 3, no correlation between neighbours', () => {
    const x = new Float32Array(4 * L).fill(0.5); // a constant: whatever varies is the noise
    addNoise(x, 4 * L, [0, 0], seededRandom(11)); // noise power = the window's, 0.25
    const noise = x.map((v) => v - 0.5);
    const n = noise.length;
    const mean = noise.reduce((a, b) => a + b, 0) / n;
    const variance = noise.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const kurtosis = noise.reduce((a, b) => a + (b - mean) ** 4, 0) / n / variance ** 2;
    let lag1 = 0;
    for (let t = 1; t < n; t++) lag1 += (noise[t] - mean) * (noise[t - 1] - mean);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(variance).toBeCloseTo(0.25, 1);
    expect(Math.abs(kurtosis - 3)).toBeLessThan(0.15);
    expect(Math.abs(lag1 / (n - 1) / variance)).toBeLessThan(0.03);
  });

  it('is seeded, leaves a silent window silent, and still draws its SNR', () => {
    const [a, b] = [twoTones(), twoTones()];
    addNoise(a, L, [10, 30], seededRandom(9));
    addNoise(b, L, [10, 30], seededRandom(9));
    expect(a).toEqual(b);
    expect(a).not.toEqual(twoTones());
    // Silence first: it stays zeros, and the tone after it gets the noise it gets as the second of two tones.
    const silentFirst = twoTones().fill(0, 0, L);
    addNoise(silentFirst, L, [10, 30], seededRandom(9));
    expect(silentFirst.subarray(0, L).every((v) => v === 0)).toBe(true);
    const random = seededRandom(9);
    random(); // the silent window's SNR
    const alone = Float32Array.from(twoTones().subarray(L));
    addNoise(alone, L, [10, 30], random);
    expect(silentFirst.subarray(L)).toEqual(alone);
  });

  it('rejects an SNR range that is not two finite numbers low ≤ high, and samples that are not whole windows', () => {
    expect(() => addNoise(twoTones(), L, [30, 10], Math.random)).toThrow(/SNR range \[30, 10\] dB must be two finite numbers, low ≤ high/);
    expect(() => addNoise(twoTones(), L, [NaN, 10], Math.random)).toThrow(/SNR range/);
    expect(() => addNoise(twoTones(), L, [0, Infinity], Math.random)).toThrow(/SNR range/);
    expect(() => addNoise(new Float32Array(L + 1), L, [10, 30], Math.random)).toThrow(/8001 samples are not whole windows of 8000/);
  });
});

describe('fit with noiseSnrDb', () => {
  beforeAll(async () => {
    await init({ backend: 'cpu' });
  });

  it('trains on noisy windows: its losses differ from a run without, and repeat exactly with the same seed', async () => {
    const corpus = generateSyntheticCorpus({ speakers: 2, utterancesPerEmotion: 1, seconds: 0.5, seed: 4 });
    const examples = toExamples(corpus.utterances, corpus.classes, 4000);
    const losses = async (training: Partial<TrainOptions>) => {
      const { model, history } = await fit(tinyModel(corpus.classes), examples, { examples: [] }, { ...DEFAULT_TRAIN_OPTIONS, epochs: 2, batchSize: 4, ...training }, {});
      model.dispose();
      return history.map((h) => h.trainLoss);
    };
    const noisy = await losses({ noiseSnrDb: [0, 10] });
    expect(noisy).not.toEqual(await losses({}));
    expect(await losses({ noiseSnrDb: [0, 10] })).toEqual(noisy);
  });
});
