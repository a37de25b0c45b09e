// The embedding API's vocabulary: what a recogniser accepts (checkpoints, WAV bytes, stream sources), the
// options of a stream, and what a stream gives back (results, statistics, its handle).

import type { ModelConfig } from '../model/config.js';
import type { Classification } from '../model/recognizer.js';
import type { InitOptions } from '../engine/context.js';

export type SpeakerGender = 'f' | 'm';
export type CheckpointSource = string | URL | Blob | ArrayBuffer | ArrayBufferView;
export type WavSource = Blob | ArrayBuffer | ArrayBufferView;
/** 'microphone' asks for one (and stops it again on stop() or a failure); a MediaStream or AudioNode is the
 * caller's, never stopped by the stream. The microphone's track ending by itself (unplugged, taken by another
 * application, the permission revoked), or all a MediaStream's audio tracks, fails the stream. A caller who stops
 * all its tracks itself ends the stream as stop() does, within a quarter of a second (a track's own stop() fires
 * no 'ended': the stream looks at the tracks while it runs). */
export type StreamSource = 'microphone' | MediaStream | AudioNode | AsyncIterable<Float32Array>;

export interface LoadOptions {
  /** The engine backend; by default the one already initialised, else WebGPU. */
  backend?: InitOptions['backend'];
}

export interface StreamOptions {
  /** The speaker's gender; omitted, the gender head's guess is used. Changeable later with setGender(). */
  gender?: SpeakerGender;
  /** Audio between two classifications (default 250 ms, four results a second when the device keeps up). The
   * numeric options are checked when the stream starts: a RangeError names the one out of range. */
  hopMs?: number;
  /** Time constant of the exponential smoothing of the probabilities (default 1000 ms; 0: none). */
  smoothingMs?: number;
  /** Results start once this fraction of a window (above 0, at most 1) has arrived (default 0.5); until a whole
   * window has, the audio so far is repeated to fill one, as classify() fills a window from a short recording. */
  minWindowFraction?: number;
  /** Async-iterable sources: the chunks' sample rate, 1 to 768 kHz (default: the model's). */
  sampleRate?: number;
  /** Async-iterable sources: wait for each inference before pulling more audio, so nothing is dropped. For
   * recorded audio read faster than real time; a live source should leave it off. */
  backpressure?: boolean;
  /** Audio sources: frames per message from the audio thread, a whole number (default 1024, 64 ms at 16 kHz). */
  chunkFrames?: number;
  /** Called once when the stream fails: an inference, the async-iterable source or the audio thread threw, or
   * the microphone or a MediaStream's audio tracks ended by themselves (the stream then ends as stop() ends it,
   * releasing the microphone, AudioContext or iterator it acquired; later failures are not reported). Default
   * console.error. Handling errors here is enough: `finished` need not be awaited, nor stop() called. */
  onError?: (error: unknown) => void;
}

export interface StreamResult {
  /** The newest window's probabilities. */
  probabilities: Record<string, number>;
  /** Exponentially smoothed probabilities. */
  smoothed: Record<string, number>;
  /** The most probable emotion after smoothing. */
  emotion: string;
  gender: SpeakerGender;
  genderGiven: boolean;
  genderProbabilities: Record<SpeakerGender, number>;
  /** Seconds of audio received when the window ended (the audio clock, not the wall clock). */
  timestamp: number;
  /** Wall time from the arrival of the window's last audio to this result. */
  latencyMs: number;
  /** Hops dropped so far: due while an inference was running, and served by a later one. */
  dropped: number;
  /** GPU time and read-back of this window's inference, as seen from the main thread. */
  inferenceMs: number;
  /** Why this window's result means nothing, as classify() says it (a muted or silent source): its probabilities
   * are still given, and still smoothed, but `emotion` then reads as a guess at silence. */
  warning?: string;
}

export interface StreamStats {
  /** Hops that came due (after the first half-window). */
  hops: number;
  inferences: number;
  dropped: number;
  audioSeconds: number;
  meanInferenceMs: number;
  maxInferenceMs: number;
  meanLatencyMs: number;
  /** Mean inference time over the window's duration: below 1 means faster than the audio it reads. */
  realTimeFactor: number;
  /** Mean inference time over the hop: below 1 means every hop gets its own inference. */
  load: number;
}

export interface StreamHandle {
  setGender(gender: SpeakerGender | undefined): void;
  stats(): StreamStats;
  /** Stops capturing, waits for the inference in flight (its result is still delivered) and releases audio. */
  stop(): Promise<void>;
  /** Settles when an async-iterable source ends, when the caller stopped all the tracks of its MediaStream, when
   * stop() has finished, or when a failure has ended the
   * stream (a silent source does not hold it up: its iterator's return() is called and not awaited). Rejects with
   * the error that onError was given if the stream failed; it is marked handled, so a caller who handles errors
   * through onError may leave it unawaited. */
  readonly finished: Promise<void>;
}

/** What a stream needs of a recogniser: its model's configuration and one window's classification. */
export interface WindowClassifier {
  readonly config: ModelConfig;
  readonly classes: string[];
  classify(samples: Float32Array, sampleRate: number, options: { gender?: SpeakerGender }): Promise<Classification>;
}
