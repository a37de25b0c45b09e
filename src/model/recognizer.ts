// Classifying audio with a trained model, for the CLI, Node services and web pages alike: resample to the
// model's rate, normalise, cut into windows, run them in one batch, average the windows' probabilities.
// Without a given gender, the gender head's estimate stands in for the gender input.

import { softmax, tensor } from '../engine/ops.js';
import { noGrad, tidy } from '../engine/tensor.js';
import { fixedWindows, normalizeLevel, resample } from '../train/audio.js';
import { GENDERS, type SerModel } from './ser-model.js';

export interface Classification {
  /** The most probable emotion. */
  emotion: string;
  probabilities: Record<string, number>;
  /** The gender used: the one given, or the gender head's guess. */
  gender: 'f' | 'm';
  genderGiven: boolean;
  genderProbabilities: Record<'f' | 'm', number>;
}

export async function classify(model: SerModel, samples: Float32Array, sampleRate: number, options: { gender?: 'f' | 'm' } = {}): Promise<Classification> {
  const { windowSamples, classes } = model.config;
  if (samples.length === 0) throw new Error('classify: no samples');
  const audio = normalizeLevel(sampleRate === model.config.sampleRate ? samples : resample(samples, sampleRate, model.config.sampleRate));
  const windows = fixedWindows(audio, windowSamples, Math.floor(windowSamples / 2));
  const n = windows.length;
  const batch = new Float32Array(n * windowSamples);
  windows.forEach((w, i) => batch.set(w, i * windowSamples));
  model.eval();
  const [emotion, gender] = tidy(() =>
    noGrad(() => {
      const x = tensor(batch, [n, 1, windowSamples]);
      let g;
      if (options.gender) {
        const onehot = new Float32Array(n * 2);
        for (let i = 0; i < n; i++) onehot[i * 2 + GENDERS.indexOf(options.gender)] = 1;
        g = tensor(onehot, [n, 2]);
      }
      const out = model.forward(x, g);
      return [softmax(out.emotion), softmax(out.gender)];
    }),
  );
  const pe = await emotion.toArray();
  const pg = await gender.toArray();
  emotion.dispose();
  gender.dispose();
  const mean = (p: Float32Array, cols: number, c: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += p[i * cols + c];
    return s / n;
  };
  const probabilities = Object.fromEntries(classes.map((name, c) => [name, mean(pe, classes.length, c)]));
  const genderProbabilities = { f: mean(pg, 2, 0), m: mean(pg, 2, 1) };
  const best = classes.reduce((a, b) => (probabilities[b] > probabilities[a] ? b : a));
  return {
    emotion: best,
    probabilities,
    gender: options.gender ?? (genderProbabilities.f >= genderProbabilities.m ? 'f' : 'm'),
    genderGiven: !!options.gender,
    genderProbabilities,
  };
}
