// Utterance-level prediction: every window of an utterance goes through the network (eval mode, no tape),
// and the utterance's emotion probabilities are the mean of its windows' softmax outputs. A model with
// per-speaker normalisation first adapts its batch norm to each speaker's own windows (labels unused), and
// gets its trained statistics back afterwards.

import { softmax, tensor } from '../engine/ops.js';
import { noGrad, tidy } from '../engine/tensor.js';
import { adaptNormalization, restoreNormalization } from '../model/adapt.js';
import { genderOneHot, type SerModel } from '../model/ser-model.js';
import { allWindows, batches, groupBySpeaker, makeBatch, type Example } from './dataset.js';

export interface UtterancePrediction {
  predicted: number;
  probabilities: number[];
  predictedGender: number;
  genderProbabilities: number[];
}

export interface PredictOptions {
  useTrueGender: boolean;
  batchSize?: number;
}

export async function predictExamples(model: SerModel, examples: Example[], options: PredictOptions): Promise<UtterancePrediction[]> {
  if (!model.config.speakerNormalization) return predictWindows(model, examples, options);
  const predictions = new Map<Example, UtterancePrediction>();
  for (const own of groupBySpeaker(examples).values()) {
    const refs = allWindows(own);
    const genders = options.useTrueGender ? refs.map((r) => genderOneHot(r.example.gender)) : undefined;
    const trained = await adaptNormalization(model, { windows: refs.map((r) => r.example.windows[r.window]), genders });
    const predicted = await predictWindows(model, own, options);
    restoreNormalization(model, trained);
    own.forEach((e, i) => predictions.set(e, predicted[i]));
  }
  return examples.map((e) => predictions.get(e)!);
}

async function predictWindows(model: SerModel, examples: Example[], options: PredictOptions): Promise<UtterancePrediction[]> {
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
