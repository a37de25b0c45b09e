// Utterance-level prediction: every window of an utterance goes through the network (eval mode, no tape),
// and the utterance's emotion probabilities are the mean of its windows' softmax outputs. A model with
// per-speaker normalisation first adapts its batch norm to each speaker's own windows (labels unused), and
// gets its trained statistics back afterwards. A speaker's own windows are all of that speaker's audio, the
// unscored utterances too: choosing them by emotion label is something a deployment could not do.

import { adaptNormalization, restoreNormalization } from '../model/adapt.js';
import { meanWindowProbabilities } from '../model/score-windows.js';
import type { Network } from '../model/ensemble.js';
import { genderOneHot } from '../model/ser-model.js';
import { allWindows, groupBySpeaker, type Example, type UnscoredExample } from './dataset.js';

export interface UtterancePrediction {
  predicted: number;
  probabilities: number[];
  predictedGender: number;
  genderProbabilities: number[];
}

export interface PredictOptions {
  useTrueGender: boolean;
  batchSize?: number;
  /** More audio of the speakers, not scored (utterances outside the classes): adaptation reads it too. */
  unscored?: UnscoredExample[];
}

export async function predictExamples(model: Network, examples: Example[], options: PredictOptions): Promise<UtterancePrediction[]> {
  if (!model.config.speakerNormalization) return predictWindows(model, examples, options);
  const predictions = new Map<Example, UtterancePrediction>();
  const unscored = groupBySpeaker(options.unscored ?? []);
  for (const [speaker, own] of groupBySpeaker(examples)) {
    const audio: UnscoredExample[] = [...own, ...(unscored.get(speaker) ?? [])];
    const windows = audio.flatMap((e) => e.windows);
    const genders = options.useTrueGender ? audio.flatMap((e) => e.windows.map(() => genderOneHot(e.gender))) : undefined;
    const trained = await adaptNormalization(model, { windows, genders });
    const predicted = await predictWindows(model, own, options);
    restoreNormalization(model, trained);
    own.forEach((e, i) => predictions.set(e, predicted[i]));
  }
  return examples.map((e) => predictions.get(e)!);
}

async function predictWindows(model: Network, examples: Example[], options: PredictOptions): Promise<UtterancePrediction[]> {
  const refs = allWindows(examples);
  const utterance = new Map(examples.map((e, i) => [e, i]));
  const means = await meanWindowProbabilities(
    model,
    {
      count: refs.length,
      fill: (i, into) => into.set(refs[i].example.windows[refs[i].window]),
      group: (i) => utterance.get(refs[i].example)!,
      gender: options.useTrueGender ? (i) => refs[i].example.gender : undefined,
    },
    examples.length,
    { batchWindows: options.batchSize ?? 32 },
  );
  return means.map(({ emotion, gender }) => ({ probabilities: emotion, predicted: argmax(emotion), genderProbabilities: gender, predictedGender: argmax(gender) }));
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
