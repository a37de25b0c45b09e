// Scoring windows with a trained model, one definition for classify() (one recording) and evaluation (many
// utterances): windows go through the network in eval mode without a tape, a batch at a time, and a group's
// (an utterance's) emotion and gender probabilities are the mean of its windows' softmax outputs. Memory stays
// one batch whatever the number of windows.

import { softmax, tensor } from '../engine/ops.js';
import { noGrad, tidy } from '../engine/tensor.js';
import type { Network } from './ensemble.js';
import { GENDERS } from './ser-model.js';

export interface WindowSource {
  /** How many windows. */
  count: number;
  /** Writes window i's samples into `into` (windowSamples long). */
  fill(i: number, into: Float32Array): void;
  /** Window i's group (its utterance), 0 … groups-1; omitted, every window is in group 0. */
  group?(i: number): number;
  /** Window i's gender (an index into GENDERS) where the gender input is given; omitted, the model gets none. */
  gender?(i: number): number;
}

export interface MeanProbabilities {
  emotion: number[];
  gender: number[];
}

export interface ScoreOptions {
  /** Windows per forward pass; the result does not depend on it. */
  batchWindows: number;
}

/** Each group's mean probabilities, summed window by window in window order. */
export async function meanWindowProbabilities(model: Network, windows: WindowSource, groups: number, options: ScoreOptions): Promise<MeanProbabilities[]> {
  const { windowSamples, classes } = model.config;
  const C = classes.length;
  const G = GENDERS.length;
  if (!Number.isInteger(options.batchWindows) || options.batchWindows < 1) throw new RangeError(`scoring windows: bad batchWindows ${options.batchWindows}`);
  const sums = Array.from({ length: groups }, () => ({ emotion: new Float64Array(C), gender: new Float64Array(G), windows: 0 }));
  model.eval();
  for (let first = 0; first < windows.count; first += options.batchWindows) {
    const m = Math.min(options.batchWindows, windows.count - first);
    const samples = new Float32Array(m * windowSamples);
    for (let i = 0; i < m; i++) windows.fill(first + i, samples.subarray(i * windowSamples, (i + 1) * windowSamples));
    let genders: Float32Array | undefined;
    if (windows.gender) {
      genders = new Float32Array(m * G);
      for (let i = 0; i < m; i++) genders[i * G + windows.gender(first + i)] = 1;
    }
    const [emotion, gender] = tidy(() =>
      noGrad(() => {
        const out = model.forward(tensor(samples, [m, 1, windowSamples]), genders && tensor(genders, [m, G]));
        return [softmax(out.emotion), softmax(out.gender)];
      }),
    );
    const [pe, pg] = [await emotion.toArray(), await gender.toArray()];
    emotion.dispose();
    gender.dispose();
    for (let i = 0; i < m; i++) {
      const s = sums[windows.group?.(first + i) ?? 0];
      for (let c = 0; c < C; c++) s.emotion[c] += pe[i * C + c];
      for (let c = 0; c < G; c++) s.gender[c] += pg[i * G + c];
      s.windows++;
    }
  }
  return sums.map((s) => ({ emotion: Array.from(s.emotion, (v) => v / s.windows), gender: Array.from(s.gender, (v) => v / s.windows) }));
}
