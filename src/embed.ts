// The embedding API, for host pages and Node services alike: load a checkpoint written by `ser train` (from a
// URL, a File/Blob, bytes or a file path), classify samples or WAV bytes, and stream live audio.
//
//   const ser = await loadRecognizer();          // the shipped EMO-DB model; or a URL, File, bytes or path
//   const r = await ser.classify(samples, 48000);                 // r.probabilities, r.gender (guessed)
//   const live = await ser.stream('microphone', (r) => draw(r.smoothed));
//
// This file is the API's face; behind it, src/embed/: load.ts (engine and bytes), stream-session.ts (the
// scheduler: one inference in flight, dropped hops, smoothing), sources.ts (async iterables and AudioWorklet
// capture), types.ts (options and results). Audio handling is src/audio's, the same as in training.

import { sizeRefusal } from './audio/load.js';
import { decodeWav } from './audio/wav.js';
import type { ModelConfig } from './model/config.js';
import { decodeModel } from './model/model-file.js';
import { classify, type Classification } from './model/recognizer.js';
import type { Network } from './model/ensemble.js';
import { shippedModelUrl } from './model/shipped.js';
import { bytesOf, checkpointBytes, ensureEngine, isBlob } from './embed/load.js';
import { captureAudio, feedIterable, isAsyncIterable } from './embed/sources.js';
import { StreamSession } from './embed/stream-session.js';
import type { CheckpointSource, LoadOptions, SpeakerGender, StreamHandle, StreamOptions, StreamResult, StreamSource, WavSource } from './embed/types.js';

export type { Classification } from './model/recognizer.js';
export type { CheckpointSource, LoadOptions, SpeakerGender, StreamHandle, StreamOptions, StreamResult, StreamSource, StreamStats, WavSource } from './embed/types.js';
export { StreamingResampler } from './audio/resample.js';

export class Recognizer {
  constructor(readonly model: Network) {}

  get config(): ModelConfig {
    return this.model.config;
  }

  get classes(): string[] {
    return this.model.config.classes;
  }

  /** How many networks decide together: an ensemble's members (`ser ensemble`), or 1. */
  get networks(): number {
    return 'members' in this.model ? this.model.members.length : 1;
  }

  /** Per-emotion probabilities for mono samples at any rate (resampled and level-normalised as in training). */
  classify(samples: Float32Array, sampleRate: number, options: { gender?: SpeakerGender } = {}): Promise<Classification> {
    return classify(this.model, samples, sampleRate, options);
  }

  /** Decodes WAV bytes (PCM 8-32 bit or float, any rate, channels averaged) and classifies them. */
  async classifyWav(wav: WavSource, options: { gender?: SpeakerGender; name?: string } = {}): Promise<Classification> {
    const name = options.name ?? (isBlob(wav) && 'name' in wav ? String(wav.name) : 'audio.wav');
    // The limit loadAudio sets for a file, before a Blob (a file dropped on a page, an upload) is read whole: a
    // few GB had a tab or a service run out of memory instead of a word about the file.
    const tooLarge = isBlob(wav) ? sizeRefusal(wav.size) : null;
    if (tooLarge) throw new RangeError(`${name}: ${tooLarge}`);
    const { samples, sampleRate } = decodeWav(await bytesOf(wav), name);
    return this.classify(samples, sampleRate, options);
  }

  /** Live classification of a microphone, a MediaStream, an AudioNode or an async iterable of chunks. */
  async stream(source: StreamSource, onResult: (result: StreamResult) => void, options: StreamOptions = {}): Promise<StreamHandle> {
    const session = new StreamSession(this, onResult, options);
    if (isAsyncIterable(source)) return feedIterable(session, source, options);
    return captureAudio(session, source, options);
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Loads a checkpoint written by `ser train` (model.safetensors, or a fold's training checkpoint) or an ensemble
 * written by `ser ensemble`; without one,
 * the model the package ships (model/shipped.ts). */
export async function loadRecognizer(source: CheckpointSource = shippedModelUrl(), options: LoadOptions = {}): Promise<Recognizer> {
  await ensureEngine(options.backend);
  const { bytes, name } = await checkpointBytes(source);
  return new Recognizer(decodeModel(bytes, name).model);
}

/** Wraps a model already in memory (one just trained, say, or an ensemble of several). The recognizer then owns
 * it: dispose() frees it. */
export function createRecognizer(model: Network): Recognizer {
  return new Recognizer(model);
}
