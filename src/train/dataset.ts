// From loaded utterances to what the network reads: fixed-length windows with the utterance's labels, and
// shuffled mini-batches of them. An utterance's prediction later combines all of its windows.

import { fixedWindows } from '../audio/index.js';
import type { LoadedUtterance } from './corpora/types.js';
import { GENDERS } from '../model/ser-model.js';

export interface Example {
  file: string;
  speaker: string;
  label: number;
  /** Index into GENDERS (0 = f, 1 = m). */
  gender: number;
  windows: Float32Array[];
}

/** Windows do not overlap: overlapping ones cost training time and add little new audio. */
export function toExamples(utterances: LoadedUtterance[], classes: string[], windowSamples: number): Example[] {
  return utterances.map((u) => {
    const label = classes.indexOf(u.emotion);
    if (label < 0) throw new Error(`${u.file}: emotion "${u.emotion}" is not one of the classes [${classes.join(', ')}]`);
    return {
      file: u.file,
      speaker: u.speaker,
      label,
      gender: GENDERS.indexOf(u.gender),
      windows: fixedWindows(u.samples, windowSamples, windowSamples),
    };
  });
}

/** Audio of a speaker that is not scored (Corpus.unscored): only per-speaker normalisation reads it. */
export type UnscoredExample = Omit<Example, 'label'>;

export function toUnscored(utterances: LoadedUtterance[], windowSamples: number): UnscoredExample[] {
  return utterances.map((u) => ({ file: u.file, speaker: u.speaker, gender: GENDERS.indexOf(u.gender), windows: fixedWindows(u.samples, windowSamples, windowSamples) }));
}

export interface Batch {
  /** [N * windowSamples] samples, window after window. */
  samples: Float32Array;
  /** [N * 2] gender one-hot. */
  genders: Float32Array;
  labels: Int32Array;
  genderLabels: Int32Array;
  size: number;
}

/** Deterministic shuffle (Fisher-Yates with a seeded generator). */
export function shuffled<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface WindowRef {
  example: Example;
  window: number;
}

export function allWindows(examples: Example[]): WindowRef[] {
  return examples.flatMap((example) => example.windows.map((_, window) => ({ example, window })));
}

export function makeBatch(refs: WindowRef[], windowSamples: number): Batch {
  const samples = new Float32Array(refs.length * windowSamples);
  const genders = new Float32Array(refs.length * GENDERS.length);
  const labels = new Int32Array(refs.length);
  const genderLabels = new Int32Array(refs.length);
  refs.forEach((r, i) => {
    samples.set(r.example.windows[r.window], i * windowSamples);
    genders[i * GENDERS.length + r.example.gender] = 1;
    labels[i] = r.example.label;
    genderLabels[i] = r.example.gender;
  });
  return { samples, genders, labels, genderLabels, size: refs.length };
}

/** Mini-batches; a last batch of one window is merged into the previous one (batch norm needs two). */
export function batches(refs: WindowRef[], batchSize: number): WindowRef[][] {
  const out: WindowRef[][] = [];
  for (let i = 0; i < refs.length; i += batchSize) out.push(refs.slice(i, i + batchSize));
  if (out.length > 1 && out[out.length - 1].length === 1) out[out.length - 2].push(...out.pop()!);
  return out;
}

/** Shuffled mini-batches that each hold one speaker's windows, in shuffled order: batch norm then normalises
 * by one speaker's statistics in training, as it does at test time after adapting to the test speaker. */
export function speakerBatches(refs: WindowRef[], batchSize: number, random: () => number): WindowRef[][] {
  const out = [...groupBySpeaker(refs).values()].flatMap((own) => batches(shuffled(own, random), batchSize));
  return shuffled(out, random);
}

/** Items grouped by their example's speaker, in the order of first appearance. */
export function groupBySpeaker<T extends { example: { speaker: string } } | { speaker: string }>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const speaker = 'example' in item ? item.example.speaker : item.speaker;
    const group = out.get(speaker);
    if (group) group.push(item);
    else out.set(speaker, [item]);
  }
  return out;
}

/** Inverse-frequency class weights over the windows, total / (classes present × count), so that a window weighs 1
 * on average (scikit-learn's 'balanced'; torch's `weight`, whose loss divides by the weights' sum: only their ratios
 * matter). */
export function classWeights(examples: Example[], numClasses: number): Float32Array {
  const counts = new Array(numClasses).fill(0);
  for (const e of examples) counts[e.label] += e.windows.length;
  const present = counts.filter((c) => c > 0).length;
  const total = counts.reduce((a, b) => a + b, 0);
  return Float32Array.from(counts, (c) => (c > 0 ? total / (present * c) : 0));
}
