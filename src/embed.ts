// The embedding API, for host pages and Node services alike: load a checkpoint written by `ser train` (from a
// URL, a File/Blob, bytes or a file path), classify samples or WAV bytes, and stream live audio. A stream keeps
// the newest window of audio, classifies it every hop with at most ONE inference in flight, and smooths the
// probabilities over time; hops that come due while an inference is still running are coalesced into the next
// one and counted as dropped, so a device slower than real time loses time resolution, never falls behind.
//
//   const ser = await loadRecognizer();          // the shipped EMO-DB model; or a URL, File, bytes or path
//   const r = await ser.classify(samples, 48000);                 // r.probabilities, r.gender (guessed)
//   const live = await ser.stream('microphone', (r) => draw(r.smoothed));
//
// In a page, audio is captured by an AudioWorklet (its processor is built from `captureProcessor` below as a
// Blob URL, so the bundle stays one file) in an AudioContext running at the model's sample rate: the browser
// resamples the microphone, and the main thread only receives ready frames. In Node, or for any other source,
// `stream` takes an async iterable of Float32Array chunks.

import { engine, init, type InitOptions } from './engine/context.js';
import type { ModelConfig } from './model/config.js';
import { decodeModel } from './model/model-file.js';
import { classify, type Classification } from './model/recognizer.js';
import type { SerModel } from './model/ser-model.js';
import { shippedModelUrl } from './model/shipped.js';
import { decodeWav } from './train/audio.js';

export type { Classification } from './model/recognizer.js';
export type SpeakerGender = 'f' | 'm';
export type CheckpointSource = string | URL | Blob | ArrayBuffer | ArrayBufferView;
export type WavSource = Blob | ArrayBuffer | ArrayBufferView;
/** 'microphone' asks for one (and stops it again on stop()); a MediaStream or AudioNode is the caller's. */
export type StreamSource = 'microphone' | MediaStream | AudioNode | AsyncIterable<Float32Array>;

export interface LoadOptions {
  /** The engine backend; by default the one already initialised, else WebGPU. */
  backend?: InitOptions['backend'];
}

export interface StreamOptions {
  /** The speaker's gender; omitted, the gender head's guess is used. Changeable later with setGender(). */
  gender?: SpeakerGender;
  /** Audio between two classifications (default 250 ms, four results a second when the device keeps up). */
  hopMs?: number;
  /** Time constant of the exponential smoothing of the probabilities (default 1000 ms). */
  smoothingMs?: number;
  /** Results start once this fraction of a window has arrived (default 0.5); shorter audio is zero-padded. */
  minWindowFraction?: number;
  /** Async-iterable sources: the chunks' sample rate (default: the model's). */
  sampleRate?: number;
  /** Async-iterable sources: wait for each inference before pulling more audio, so nothing is dropped. For
   * recorded audio read faster than real time; a live source should leave it off. */
  backpressure?: boolean;
  /** Audio sources: frames per message from the audio thread (default 1024, 64 ms at 16 kHz). */
  chunkFrames?: number;
  /** Called once if an inference fails (the stream then stops classifying); default console.error. */
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
  /** Settles when an async-iterable source ends (rejecting if it or an inference throws), or when stop() has
   * finished. */
  readonly finished: Promise<void>;
}

export class Recognizer {
  constructor(readonly model: SerModel) {}

  get config(): ModelConfig {
    return this.model.config;
  }

  get classes(): string[] {
    return this.model.config.classes;
  }

  /** Per-emotion probabilities for mono samples at any rate (resampled and level-normalised as in training). */
  classify(samples: Float32Array, sampleRate: number, options: { gender?: SpeakerGender } = {}): Promise<Classification> {
    return classify(this.model, samples, sampleRate, options);
  }

  /** Decodes WAV bytes (PCM 8-32 bit or float, any rate, channels averaged) and classifies them. */
  async classifyWav(wav: WavSource, options: { gender?: SpeakerGender; name?: string } = {}): Promise<Classification> {
    const name = options.name ?? (isBlob(wav) && 'name' in wav ? String(wav.name) : 'audio.wav');
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

/** Loads a checkpoint written by `ser train` (model.safetensors, or a fold's training checkpoint); without one,
 * the model the package ships (model/shipped.ts). */
export async function loadRecognizer(source: CheckpointSource = shippedModelUrl(), options: LoadOptions = {}): Promise<Recognizer> {
  await ensureEngine(options.backend);
  const { bytes, name } = await checkpointBytes(source);
  return new Recognizer(decodeModel(bytes, name).model);
}

/** Wraps a model already in memory (one just trained, say). The recognizer then owns it: dispose() frees it. */
export function createRecognizer(model: SerModel): Recognizer {
  return new Recognizer(model);
}

// ------------------------------------------------------------------------------------------------ loading

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function ensureEngine(backend: LoadOptions['backend']): Promise<void> {
  if (backend) {
    await init({ backend });
    return;
  }
  try {
    engine();
  } catch {
    await init();
  }
}

function isBlob(x: unknown): x is Blob {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}

async function bytesOf(x: WavSource): Promise<Uint8Array> {
  if (isBlob(x)) return new Uint8Array(await x.arrayBuffer());
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

async function checkpointBytes(source: CheckpointSource): Promise<{ bytes: Uint8Array; name: string }> {
  if (isBlob(source)) return { bytes: await bytesOf(source), name: 'name' in source ? String(source.name) : 'checkpoint' };
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return { bytes: await bytesOf(source), name: 'checkpoint' };
  const text = String(source);
  // In Node a plain string is a path (file: URLs too); everything else, and every string in a page, is fetched.
  if (isNode && !/^(https?|data|blob):/i.test(text)) {
    const fsModule = 'node:fs/promises'; // a variable name keeps bundlers from pulling fs into the browser build
    const { readFile } = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises');
    return { bytes: new Uint8Array(await readFile(text.startsWith('file:') ? new URL(text) : text)), name: text };
  }
  const response = await fetch(source);
  if (!response.ok) throw new Error(`${text}: cannot load the checkpoint (HTTP ${response.status} ${response.statusText})`);
  return { bytes: new Uint8Array(await response.arrayBuffer()), name: text };
}

// ------------------------------------------------------------------------------------------------ streaming

/** The newest `capacity` samples. */
class RingBuffer {
  private readonly data: Float32Array;
  private written = 0;
  constructor(readonly capacity: number) {
    this.data = new Float32Array(capacity);
  }
  get total(): number {
    return this.written;
  }
  push(chunk: Float32Array): void {
    // Only the tail of an oversized chunk can survive.
    const tail = chunk.length > this.capacity ? chunk.subarray(chunk.length - this.capacity) : chunk;
    this.written += chunk.length - tail.length;
    for (let i = 0; i < tail.length; ) {
      const at = this.written % this.capacity;
      const n = Math.min(tail.length - i, this.capacity - at);
      this.data.set(tail.subarray(i, i + n), at);
      i += n;
      this.written += n;
    }
  }
  /** The newest n samples in order (n <= capacity). */
  latest(n: number): Float32Array {
    const out = new Float32Array(n);
    const start = this.written - n;
    for (let i = 0; i < n; ) {
      const at = (start + i) % this.capacity;
      const count = Math.min(n - i, this.capacity - at);
      out.set(this.data.subarray(at, at + count), i);
      i += count;
    }
    return out;
  }
}

/**
 * Windowed-sinc resampling of a stream, chunk by chunk with no seams (wavefile's resampler in
 * src/train/audio.ts works on whole signals). Only needed when audio does not arrive at the model's rate:
 * the page's AudioContext already runs at it.
 */
export class StreamingResampler {
  private readonly step: number;
  private readonly cutoff: number;
  private readonly halfSpan: number;
  /** Unconsumed input, starting halfSpan samples before the next output's position. */
  private pending: Float32Array;
  private position: number;

  constructor(readonly fromRate: number, readonly toRate: number, halfWidth = 8) {
    if (!(fromRate > 0 && toRate > 0)) throw new RangeError(`StreamingResampler: invalid rates ${fromRate} -> ${toRate}`);
    this.step = fromRate / toRate;
    this.cutoff = Math.min(1, toRate / fromRate); // below the lower Nyquist: no aliasing when decimating
    this.halfSpan = Math.ceil(halfWidth / this.cutoff);
    // Leading zeros stand for the audio before the stream began, so output 0 lines up with input 0.
    this.pending = new Float32Array(this.halfSpan);
    this.position = this.halfSpan;
  }

  push(chunk: Float32Array): Float32Array {
    if (this.step === 1) return chunk;
    const input = new Float32Array(this.pending.length + chunk.length);
    input.set(this.pending);
    input.set(chunk, this.pending.length);
    const out: number[] = [];
    const { cutoff, halfSpan } = this;
    let t = this.position;
    for (; t + halfSpan < input.length; t += this.step) {
      const first = Math.ceil(t - halfSpan);
      let sum = 0;
      for (let k = first; k <= t + halfSpan; k++) {
        const x = k - t;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
        const blackman = 0.42 + 0.5 * Math.cos((Math.PI * x) / halfSpan) + 0.08 * Math.cos((2 * Math.PI * x) / halfSpan);
        sum += input[k] * sinc * blackman;
      }
      out.push(sum * cutoff);
    }
    const keepFrom = Math.max(0, Math.floor(t - halfSpan));
    this.pending = input.slice(keepFrom);
    this.position = t - keepFrom;
    return Float32Array.from(out);
  }
}

/** The scheduling core, independent of where the audio comes from: push() frames at the model's rate. */
class StreamSession {
  private readonly ring: RingBuffer;
  private readonly hopSamples: number;
  private readonly minSamples: number;
  private readonly smoothingSeconds: number;
  private nextHopAt: number;
  private hopsDue = 0;
  private inFlight: Promise<void> | null = null;
  private lastArrival = 0;
  private smoothed: number[] | null = null;
  private smoothedAt = 0;
  private counts = { hops: 0, inferences: 0, dropped: 0, inferenceMs: 0, maxInferenceMs: 0, latencyMs: 0 };
  private failure: unknown = null;
  gender: SpeakerGender | undefined;

  constructor(private readonly recognizer: Recognizer, private readonly onResult: (r: StreamResult) => void, private readonly options: StreamOptions) {
    const { sampleRate, windowSamples } = recognizer.config;
    this.ring = new RingBuffer(windowSamples);
    this.hopSamples = Math.max(1, Math.round(((options.hopMs ?? 250) / 1000) * sampleRate));
    this.minSamples = Math.max(1, Math.round((options.minWindowFraction ?? 0.5) * windowSamples));
    this.smoothingSeconds = (options.smoothingMs ?? 1000) / 1000;
    this.nextHopAt = this.minSamples;
    this.gender = options.gender;
  }

  get error(): unknown {
    return this.failure;
  }

  get sampleRate(): number {
    return this.recognizer.config.sampleRate;
  }

  push(frames: Float32Array): void {
    if (this.failure) return;
    this.ring.push(frames);
    this.lastArrival = performance.now();
    while (this.ring.total >= this.nextHopAt) {
      this.nextHopAt += this.hopSamples;
      this.hopsDue++;
      this.counts.hops++;
    }
    // Busy: the due hops wait, and the inference that finishes starts one for the newest audio.
    if (this.hopsDue > 0 && !this.inFlight) this.run();
  }

  /** Resolves when no inference is running or queued. */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private run(): void {
    // One inference serves every hop that came due since the last one started; all but one were dropped.
    this.counts.dropped += this.hopsDue - 1;
    this.hopsDue = 0;
    const total = this.ring.total;
    const { sampleRate, windowSamples } = this.recognizer.config;
    const window = this.ring.latest(Math.min(total, windowSamples));
    const arrival = this.lastArrival;
    const gender = this.gender;
    const started = performance.now();
    this.inFlight = this.recognizer
      .classify(window, sampleRate, { gender })
      .then((c) => this.deliver(c, total / sampleRate, started, arrival))
      .catch((e: unknown) => {
        // The stream stops classifying: a failed inference (a lost device) would fail again.
        this.failure ??= e;
        (this.options.onError ?? console.error)(e);
      })
      .finally(() => {
        this.inFlight = null;
        if (this.hopsDue > 0 && !this.failure) this.run();
      });
  }

  private deliver(c: Classification, timestamp: number, started: number, arrival: number): void {
    const now = performance.now();
    const classes = this.recognizer.classes;
    const p = classes.map((k) => c.probabilities[k]);
    if (!this.smoothed) this.smoothed = p;
    else {
      // The weight of the new window follows the audio time it adds, so coalesced hops weigh more.
      const alpha = 1 - Math.exp(-(timestamp - this.smoothedAt) / this.smoothingSeconds);
      this.smoothed = this.smoothed.map((s, i) => s + alpha * (p[i] - s));
    }
    this.smoothedAt = timestamp;
    const smoothed = Object.fromEntries(classes.map((k, i) => [k, this.smoothed![i]]));
    const inferenceMs = now - started;
    const latencyMs = now - arrival;
    const n = this.counts;
    n.inferences++;
    n.inferenceMs += inferenceMs;
    n.maxInferenceMs = Math.max(n.maxInferenceMs, inferenceMs);
    n.latencyMs += latencyMs;
    this.onResult({
      probabilities: c.probabilities,
      smoothed,
      emotion: classes.reduce((a, b) => (smoothed[b] > smoothed[a] ? b : a)),
      gender: c.gender,
      genderGiven: c.genderGiven,
      genderProbabilities: c.genderProbabilities,
      timestamp,
      latencyMs,
      dropped: n.dropped,
      inferenceMs,
    });
  }

  stats(): StreamStats {
    const n = this.counts;
    const { sampleRate, windowSamples } = this.recognizer.config;
    const mean = n.inferences ? n.inferenceMs / n.inferences : 0;
    return {
      hops: n.hops,
      inferences: n.inferences,
      dropped: n.dropped,
      audioSeconds: this.ring.total / sampleRate,
      meanInferenceMs: mean,
      maxInferenceMs: n.maxInferenceMs,
      meanLatencyMs: n.inferences ? n.latencyMs / n.inferences : 0,
      realTimeFactor: mean / ((1000 * windowSamples) / sampleRate),
      load: mean / ((1000 * this.hopSamples) / sampleRate),
    };
  }
}

function isAsyncIterable(x: unknown): x is AsyncIterable<Float32Array> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

function feedIterable(session: StreamSession, source: AsyncIterable<Float32Array>, options: StreamOptions): StreamHandle {
  const modelRate = session.sampleRate;
  const resampler = options.sampleRate && options.sampleRate !== modelRate ? new StreamingResampler(options.sampleRate, modelRate) : null;
  let stopped = false;
  const finished = (async () => {
    for await (const chunk of source) {
      if (stopped) break;
      session.push(resampler ? resampler.push(chunk) : chunk);
      if (options.backpressure) await session.idle();
      if (session.error) break;
    }
    await session.idle();
    if (session.error) throw session.error;
  })();
  return {
    setGender: (g) => (session.gender = g),
    stats: () => session.stats(),
    stop: async () => {
      // The loop ends at the source's next chunk; a silent source must not hold stop() up.
      stopped = true;
      await Promise.race([finished.catch(() => undefined), session.idle()]);
    },
    finished,
  };
}

async function captureAudio(session: StreamSession, source: 'microphone' | MediaStream | AudioNode, options: StreamOptions): Promise<StreamHandle> {
  if (typeof AudioWorkletNode === 'undefined') throw new Error('stream: audio sources need a browser with AudioWorklet; pass an async iterable of Float32Array chunks instead');
  const modelRate = session.sampleRate;
  // Voice processing would reshape the very cues the model reads (level, spectrum).
  const ownStream = source === 'microphone' ? await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } }) : null;
  const input = ownStream ?? (source as MediaStream | AudioNode);
  // Our own context runs at the model's rate (the browser resamples the microphone); a caller's node keeps
  // its context's rate and is resampled here.
  const ownContext = input instanceof AudioNode ? null : new AudioContext({ sampleRate: modelRate });
  const context = ownContext ?? (input as AudioNode).context;
  const resampler = context.sampleRate !== modelRate ? new StreamingResampler(context.sampleRate, modelRate) : null;
  let capture: AudioWorkletNode;
  let node: AudioNode;
  try {
    await context.audioWorklet.addModule(captureProcessorUrl());
    capture = new AudioWorkletNode(context, CAPTURE_PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      processorOptions: { chunkFrames: options.chunkFrames ?? 1024 },
    });
    node = input instanceof AudioNode ? input : ownContext!.createMediaStreamSource(input);
    node.connect(capture);
    capture.port.onmessage = (e: MessageEvent<Float32Array>) => session.push(resampler ? resampler.push(e.data) : e.data);
    if (ownContext?.state === 'suspended') await ownContext.resume();
  } catch (e) {
    ownStream?.getTracks().forEach((t) => t.stop());
    await ownContext?.close();
    throw e;
  }

  let resolveFinished!: () => void;
  const finished = new Promise<void>((ok) => (resolveFinished = ok));
  let stopping: Promise<void> | null = null;
  return {
    setGender: (g) => (session.gender = g),
    stats: () => session.stats(),
    stop: () =>
      (stopping ??= (async () => {
        capture.port.onmessage = null;
        node.disconnect(capture);
        capture.port.close();
        ownStream?.getTracks().forEach((t) => t.stop());
        await ownContext?.close();
        await session.idle();
        resolveFinished();
      })()),
    finished,
  };
}

// ------------------------------------------------------------------------------------------------ the worklet

const CAPTURE_PROCESSOR = 'ser-capture';
let processorUrl: string | null = null;

/**
 * The AudioWorklet processor, run on the audio thread: mixes the input to mono and posts it in chunks of
 * chunkFrames (transferring the buffer), so the main thread handles a few messages a second instead of one per
 * 128-frame render quantum. It is serialised with Function.prototype.toString, so it must not use anything
 * from this module's scope (and sets its fields in the constructor: no class-field helpers).
 */
function captureProcessor(): void {
  class CaptureProcessor extends AudioWorkletProcessor {
    private readonly frames: number;
    private chunk: Float32Array;
    private filled: number;
    constructor(options: { processorOptions: { chunkFrames: number } }) {
      super();
      this.frames = options.processorOptions.chunkFrames;
      this.chunk = new Float32Array(this.frames);
      this.filled = 0;
    }
    process(inputs: Float32Array[][]): boolean {
      const channels = inputs[0];
      if (!channels || channels.length === 0) return true;
      const frames = channels[0].length;
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (const channel of channels) sum += channel[i];
        this.chunk[this.filled++] = sum / channels.length;
        if (this.filled === this.frames) {
          // Transferred, not copied: the buffer is detached here afterwards, hence a new one.
          this.port.postMessage(this.chunk, [this.chunk.buffer]);
          this.chunk = new Float32Array(this.frames);
          this.filled = 0;
        }
      }
      return true;
    }
  }
  registerProcessor('ser-capture', CaptureProcessor);
}

function captureProcessorUrl(): string {
  processorUrl ??= URL.createObjectURL(new Blob([`(${captureProcessor.toString()})();\n`], { type: 'text/javascript' }));
  return processorUrl;
}

// The AudioWorkletGlobalScope's names, which lib.dom does not declare.
declare const AudioWorkletProcessor: { new (): { readonly port: MessagePort } };
declare function registerProcessor(name: string, processor: new (options: { processorOptions: { chunkFrames: number } }) => unknown): void;
