// The stream scheduler, independent of where the audio comes from: frames at the model's rate go into a ring
// buffer of one window; every hop the newest window is classified, with at most ONE inference in flight. Hops
// that come due while one runs are coalesced into the next inference (it reads the newest audio) and counted as
// dropped, so a device slower than real time loses time resolution, never falls behind. Results are smoothed
// exponentially over audio time.

import { RingBuffer } from '../audio/ring-buffer.js';
import { isSupportedSampleRate, SAMPLE_RATE_RANGE } from '../audio/wav.js';
import { givenGender, type Classification } from '../model/recognizer.js';
import type { SpeakerGender, StreamOptions, StreamResult, StreamStats, WindowClassifier } from './types.js';

/** One stream's schedule: push() frames at the model's rate; results go to onResult. */
export class StreamSession {
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
  private hasFailed = false;
  private speakerGender: SpeakerGender | undefined;
  private endSource: () => void = () => undefined;

  constructor(private readonly recognizer: WindowClassifier, private readonly onResult: (r: StreamResult) => void, private readonly options: StreamOptions) {
    checkStreamOptions(options);
    const { sampleRate, windowSamples } = recognizer.config;
    this.ring = new RingBuffer(windowSamples);
    this.hopSamples = Math.max(1, Math.round(((options.hopMs ?? 250) / 1000) * sampleRate));
    this.minSamples = Math.max(1, Math.round((options.minWindowFraction ?? 0.5) * windowSamples));
    this.smoothingSeconds = (options.smoothingMs ?? 1000) / 1000;
    this.nextHopAt = this.minSamples;
    this.speakerGender = givenGender(options.gender, 'stream: options.gender');
  }

  get gender(): SpeakerGender | undefined {
    return this.speakerGender;
  }

  /** Checked where it is set, not at the next inference, where it would end the stream through onError. */
  setGender(gender: SpeakerGender | undefined): void {
    this.speakerGender = givenGender(gender, 'stream: setGender(gender)');
  }

  get error(): unknown {
    return this.failure;
  }

  /** Whether the stream has failed (error may be any value a source threw, undefined included). */
  get failed(): boolean {
    return this.hasFailed;
  }

  /** How the source ends the stream when it fails (set once by the source): as its stop() does, releasing what
   * the stream acquired itself. A failed stream classifies nothing more, and only the source knows what it holds
   * (a microphone, an AudioContext, an iterator), which stayed held when a failure only stopped the classifying. */
  onFail(end: () => void): void {
    this.endSource = end;
  }

  /** Ends the stream: the one place a failure (an inference, the source, the audio thread) is reported, once,
   * to onError (default console.error). Later failures are consequences of the first. */
  fail(e: unknown): void {
    if (this.hasFailed) return;
    this.hasFailed = true;
    this.failure = e;
    // Before the report: an onError that looks finds the microphone already let go.
    this.endSource();
    try {
      (this.options.onError ?? console.error)(e);
    } catch (callbackError) {
      // The caller's handler threw: reported, not rethrown, since it runs where nobody could catch it (an
      // inference's promise chain) and would end a Node process as an unhandled rejection.
      console.error('stream: onError threw', callbackError, 'while reporting', e);
    }
  }

  get sampleRate(): number {
    return this.recognizer.config.sampleRate;
  }

  push(frames: Float32Array): void {
    if (this.hasFailed) return;
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

  /** Samples still to arrive before the next hop comes due (at least 1). */
  get samplesToNextHop(): number {
    return this.nextHopAt - this.ring.total;
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
      // The stream stops classifying: a failed inference (a lost device) would fail again.
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        this.inFlight = null;
        if (this.hopsDue > 0 && !this.hasFailed) this.run();
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
      ...(c.warning ? { warning: c.warning } : {}),
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

/** The options' numbers, checked once where a stream starts: NaN, 0 or a negative value would otherwise give
 * results at the wrong rate, none at all, or smoothing that overshoots. */
export function checkStreamOptions(options: StreamOptions): void {
  const check = (name: keyof StreamOptions, ok: (x: number) => boolean, what: string) => {
    const x = options[name];
    if (x !== undefined && !(typeof x === 'number' && ok(x))) throw new RangeError(`stream: options.${name} must be ${what}, got ${String(x)}`);
  };
  check('hopMs', (x) => Number.isFinite(x) && x > 0, 'a finite number of milliseconds above 0');
  // 0 is no smoothing: each result's smoothed values are its own probabilities.
  check('smoothingMs', (x) => Number.isFinite(x) && x >= 0, 'a finite number of milliseconds, 0 or more');
  check('minWindowFraction', (x) => x > 0 && x <= 1, 'a fraction of a window in (0, 1]');
  check('sampleRate', isSupportedSampleRate, `a sample rate from ${SAMPLE_RATE_RANGE}`);
  check('chunkFrames', (x) => Number.isInteger(x) && x > 0, 'a whole number of frames above 0');
}
