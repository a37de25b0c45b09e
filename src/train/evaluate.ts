// Utterance-level prediction: every window of an utterance goes through the network (eval mode, no tape),
// and the utterance's emotion probabilities are the mean of its windows' softmax outputs.

import { tunePending } from '../engine/context.js';
import { softmax, tensor } from '../engine/ops.js';
import { noGrad, tidy } from '../engine/tensor.js';
import type { SerModel } from '../model/ser-model.js';
import { allWindows, batches, makeBatch, type Example } from './dataset.js';

export interface UtterancePrediction {
  predicted: number;
  probabilities: number[];
  predictedGender: number;
  genderProbabilities: number[];
}

export async function predictExamples(model: SerModel, examples: Example[], options: { useTrueGender: boolean; batchSize?: number }): Promise<UtterancePrediction[]> {
  const { windowSamples, classes } = model.config;
  model.eval();
  const refs = allWindows(examples);
  const sums = new Map(examples.map((e) => [e, { emotion: new Float64Array(classes.length), gender: new Float64Array(2), windows: 0 }]));
  for (const group of batches(refs, options.batchSize ?? 32)) {
    const batch = makeBatch(group, windowSamples);
    const [emotion, gender] = tidy(() =>
      noGrad(() => {
        const x = tensor(batch.samples, [batch.size, 1, windowSamples]);
        const g = options.useTrueGender ? tensor(batch.genders, [batch.size, 2]) : undefined;
        const out = model.forward(x, g);
        return [softmax(out.emotion), softmax(out.gender)];
      }),
    );
    const [pe, pg] = [await emotion.toArray(), await gender.toArray()];
    await tunePending();
    emotion.dispose();
    gender.dispose();
    group.forEach((r, i) => {
      const s = sums.get(r.example)!;
      for (let c = 0; c < classes.length; c++) s.emotion[c] += pe[i * classes.length + c];
      for (let c = 0; c < 2; c++) s.gender[c] += pg[i * 2 + c];
      s.windows++;
    });
  }
  return examples.map((e) => {
    const s = sums.get(e)!;
    const probabilities = Array.from(s.emotion, (v) => v / s.windows);
    const genderProbabilities = Array.from(s.gender, (v) => v / s.windows);
    return { probabilities, predicted: argmax(probabilities), genderProbabilities, predictedGender: argmax(genderProbabilities) };
  });
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
