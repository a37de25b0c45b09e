// Classifying audio with a trained model, for the CLI, Node services and web pages alike: resample to the
// model's rate, normalise, cut into windows, and score them as evaluation does (score-windows.ts: batches of
// at most CLASSIFY_BATCH_WINDOWS, the windows' probabilities averaged). Without a given gender, the gender
// head's estimate stands in for the gender input. Input with no usable signal (silent, constant, not finite, or too short) still gets an answer, with a
// `warning` that says why it means nothing.

import { normalizeLevel } from '../audio/level.js';
import { resample } from '../audio/resample.js';
import { isSupportedSampleRate, SAMPLE_RATE_RANGE } from '../audio/wav.js';
import { windowAt, windowStarts } from '../audio/windows.js';
import { meanWindowProbabilities } from './score-windows.js';
import type { Network } from './ensemble.js';
import { GENDERS } from './ser-model.js';

export interface Classification {
  /** The most probable emotion. */
  emotion: string;
  probabilities: Record<string, number>;
  /** The gender used: the one given, or the gender head's guess. */
  gender: 'f' | 'm';
  genderGiven: boolean;
  genderProbabilities: Record<'f' | 'm', number>;
  /** Present when the input has no usable signal (silent, constant or not finite, or under MIN_SIGNAL_SECONDS):
   * the probabilities are then the model's answer to nothing. */
  warning?: string;
}

/** Windows per forward pass: the training batch size, so that any recording fits the device's buffer limits
 * and memory does not grow with the recording's length beyond its samples. */
export const CLASSIFY_BATCH_WINDOWS = 16;
/** Shorter input gets a warning (after resampling to the model's rate). */
export const MIN_SIGNAL_SECONDS = 0.1;

export interface ClassifyOptions {
  gender?: 'f' | 'm';
  /** Windows per forward pass (default CLASSIFY_BATCH_WINDOWS); the result does not depend on it. */
  batchWindows?: number;
}

/** A speaker gender from a caller without types (a query parameter, JSON): one outside GENDERS would reach the
 * network as an all-zero one-hot and come back as `gender` with genderGiven, so it is refused, naming `where` (the
 * parameter). An empty one ('', null) says none was given, as undefined does. */
export function givenGender(gender: unknown, where: string): 'f' | 'm' | undefined {
  if (gender === undefined || gender === null || gender === '') return undefined;
  if (!GENDERS.includes(gender as 'f' | 'm')) throw new RangeError(`${where} must be 'f' or 'm', got ${JSON.stringify(gender)}`);
  return gender as 'f' | 'm';
}
/** A value as an error names what it was given instead: 'null', 'undefined', 'a number', 'a Uint8Array', 'an Int16Array'. */
export function describeValue(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  const kind = typeof x === 'object' ? (x.constructor?.name ?? 'object without a prototype') : typeof x;
  return `${/^[aeio]/i.test(kind) ? 'an' : 'a'} ${kind}`; // (u: "a Uint8Array")
}

export async function classify(model: Network, samples: Float32Array, sampleRate: number, options: ClassifyOptions = {}): Promise<Classification> {
  const { windowSamples, classes } = model.config;
  // Untyped callers: a Node Buffer or Uint8Array of WAV bytes (meant for classifyWav), a string, were classified as
  // if they were samples (the level normalisation makes any scale look like audio), and null was a TypeError
  // about 'length'.
  if (!(samples instanceof Float32Array)) {
    throw new TypeError(`classify: samples must be a Float32Array of mono samples, not ${describeValue(samples)} (WAV bytes go to classifyWav; Float32Array.from() converts an array of samples)`);
  }
  if (samples.length === 0) throw new Error('classify: no samples');
  if (!isSupportedSampleRate(sampleRate)) throw new RangeError(`classify: unsupported sample rate ${sampleRate} Hz (accepted: ${SAMPLE_RATE_RANGE})`);
  const gender = givenGender(options.gender, 'classify: gender');
  const audio = normalizeLevel(sampleRate === model.config.sampleRate ? samples : resample(samples, sampleRate, model.config.sampleRate));
  // The windows evaluation scores (dataset.ts): back to back, the last end-aligned.
  const starts = windowStarts(audio.length, windowSamples, windowSamples);
  const [mean] = await meanWindowProbabilities(
    model,
    {
      count: starts.length,
      fill: (i, into) => windowAt(audio, starts[i], windowSamples, into),
      gender: gender ? () => GENDERS.indexOf(gender) : undefined,
    },
    1,
    { batchWindows: options.batchWindows ?? CLASSIFY_BATCH_WINDOWS },
  );
  // Weights that are finite but huge (a damaged exponent byte: decodeModel accepts any finite value) overflow to
  // NaN probabilities; the answer was then the first class, as if chosen, with every probability null in JSON.
  if (![...mean.emotion, ...mean.gender].every(Number.isFinite)) {
    throw new Error(`classify: the model gave non-finite probabilities (emotion ${mean.emotion.join(', ')}; gender ${mean.gender.join(', ')}): its weights overflow on this input (a damaged checkpoint?)`);
  }
  const probabilities = Object.fromEntries(classes.map((name, c) => [name, mean.emotion[c]]));
  const genderProbabilities = { f: mean.gender[0], m: mean.gender[1] };
  const best = classes.reduce((a, b) => (probabilities[b] > probabilities[a] ? b : a));
  const warning = signalWarning(audio, model.config.sampleRate);
  return {
    emotion: best,
    probabilities,
    gender: gender ?? (genderProbabilities.f >= genderProbabilities.m ? 'f' : 'm'),
    genderGiven: gender !== undefined,
    genderProbabilities,
    ...(warning ? { warning } : {}),
  };
}

/** Why level-normalised audio carries no usable signal, or undefined when it does. */
function signalWarning(audio: Float32Array, sampleRate: number): string | undefined {
  const problems: string[] = [];
  if (audio.every((v) => v === 0)) problems.push('the input is silent, constant (DC) or not finite');
  const seconds = audio.length / sampleRate;
  if (seconds < MIN_SIGNAL_SECONDS) problems.push(`the input is only ${(seconds * 1000).toPrecision(3)} ms long (under ${MIN_SIGNAL_SECONDS * 1000} ms)`);
  return problems.length ? `no usable signal: ${problems.join('; ')}, so the result means nothing` : undefined;
}
