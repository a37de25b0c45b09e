// The embedding API's stream and input checks without a device: a fake recogniser stands in for the model, so
// these test the scheduler and the sources (src/embed/), not the network. A failed inference or a throwing
// source reaches onError once and never an unhandled rejection (which ends a Node service), and ends the stream
// as stop() does, releasing what the stream acquired (a microphone, its context, a silent source's iterator) and
// never a caller's MediaStream or AudioNode; the microphone's track, or all a caller's MediaStream's audio
// tracks, ending by themselves (also while the stream starts) fail it so, and an end after stop() does not;
// stop() ends a silent source's stream and releases its iterator, and
// a caller's node that is disconnected already; a consumed chunk is not kept; a result carries classify's
// warning (a muted source); backpressure serves every hop
// of a chunk longer than a hop; a microphone that the browser cannot connect to a context at the model's rate
// (Firefox) is resampled here; out-of-range options and inputs that are not WAV bytes are refused with errors
// that name them.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_AUDIO_FILE_BYTES } from '../src/audio/load.js';
import { createRecognizer } from '../src/embed.js';
import { captureAudio, feedIterable, TRACK_CHECK_MS } from '../src/embed/sources.js';
import { StreamSession } from '../src/embed/stream-session.js';
import type { StreamOptions, WindowClassifier } from '../src/embed/types.js';
import type { ModelConfig } from '../src/model/config.js';
import type { SerModel } from '../src/model/ser-model.js';

const RATE = 16000;
const config = { sampleRate: RATE, windowSamples: RATE, classes: ['a', 'b'] } as unknown as ModelConfig;
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** A recogniser that answers after `ms`, or throws `error` when given one. */
function fake(ms: number, error?: Error): WindowClassifier {
  return {
    config,
    classes: ['a', 'b'],
    classify: async () => {
      await sleep(ms);
      if (error) throw error;
      return { emotion: 'a', probabilities: { a: 0.5, b: 0.5 }, gender: 'f', genderGiven: false, genderProbabilities: { f: 0.5, m: 0.5 } };
    },
  };
}

/** `n` quarter-second chunks, 5 ms apart; then it throws `error` if given one. */
async function* chunks(n: number, error?: Error): AsyncGenerator<Float32Array> {
  for (let i = 0; i < n; i++) {
    await sleep(5);
    yield new Float32Array(RATE / 4);
  }
  if (error) throw error;
}

function start(classifier: WindowClassifier, source: AsyncIterable<Float32Array>, options: StreamOptions = {}) {
  const session = new StreamSession(classifier, () => undefined, options);
  return feedIterable(session, source, options);
}

let unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

describe('stream failures', () => {
  it('a failed inference reaches onError once, and an unawaited finished is no unhandled rejection', async () => {
    const errors: unknown[] = [];
    const lost = new Error('device lost');
    // A service that handles errors through onError and never awaits finished.
    const handle = start(fake(2, lost), chunks(12), { onError: (e) => errors.push(e) });
    await sleep(300);
    expect(errors).toEqual([lost]);
    expect(unhandled).toEqual([]);
    // Those who do await it still see the failure.
    await expect(handle.finished).rejects.toBe(lost);
  });

  it('a source that throws reaches onError once, and an unawaited finished is no unhandled rejection', async () => {
    const errors: unknown[] = [];
    const broken = new Error('socket reset');
    const handle = start(fake(1), chunks(3, broken), { onError: (e) => errors.push(e) });
    await sleep(200);
    expect(errors).toEqual([broken]);
    expect(unhandled).toEqual([]);
    await expect(handle.finished).rejects.toBe(broken);
  });

  it('an onError that throws is reported, not an unhandled rejection', async () => {
    const lost = new Error('device lost');
    const logged: unknown[][] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const handle = start(fake(2, lost), chunks(12), {
        onError: () => {
          throw new Error('handler bug');
        },
      });
      await sleep(300);
      expect(unhandled).toEqual([]);
      expect(logged.some((args) => args.includes(lost) && String(args[0]).includes('onError threw'))).toBe(true);
      await expect(handle.finished).rejects.toBe(lost);
    } finally {
      console.error = consoleError;
    }
  });
});

describe('stream stop()', () => {
  it('ends a stream whose live source has gone silent: finished settles and the iterator is released', async () => {
    let released = false;
    const silent: AsyncIterable<Float32Array> = {
      [Symbol.asyncIterator]: () => {
        let n = 0;
        return {
          next: () => (n++ < 6 ? Promise.resolve({ value: new Float32Array(RATE / 4), done: false }) : new Promise<never>(() => undefined)),
          // As silent as next(): stop() must not wait for it either.
          return: () => {
            released = true;
            return new Promise<never>(() => undefined);
          },
        };
      },
    };
    const results: number[] = [];
    const session = new StreamSession(fake(5), (r) => results.push(r.timestamp), {});
    const handle = feedIterable(session, silent, {});
    await sleep(100);
    const timeout = (what: string) => sleep(2000).then(() => `${what} still pending after 2 s`);
    expect(await Promise.race([handle.stop().then(() => 'stopped'), timeout('stop()')])).toBe('stopped');
    expect(await Promise.race([handle.finished.then(() => 'settled'), timeout('finished')])).toBe('settled');
    expect(released).toBe(true);
    expect(results.length).toBeGreaterThan(0);
  });
});

describe('stream failure with a silent source', () => {
  it('ends the stream when an inference fails while the source is silent: finished settles and the iterator is released', async () => {
    let released = false;
    const silent: AsyncIterable<Float32Array> = {
      [Symbol.asyncIterator]: () => {
        let n = 0;
        return {
          next: () => (n++ < 4 ? Promise.resolve({ value: new Float32Array(RATE / 4), done: false }) : new Promise<never>(() => undefined)),
          return: () => {
            released = true;
            return new Promise<never>(() => undefined);
          },
        };
      },
    };
    const errors: unknown[] = [];
    const lost = new Error('device lost');
    const handle = start(fake(20, lost), silent, { onError: (e) => errors.push(e) });
    // The failure comes after the last chunk: the stream waits on a next() that will not answer.
    const outcome = await Promise.race([handle.finished.then(() => 'resolved', (e: unknown) => e), sleep(2000).then(() => 'finished still pending after 2 s')]);
    expect(outcome).toBe(lost);
    expect(errors).toEqual([lost]);
    expect(released).toBe(true);
    expect(unhandled).toEqual([]);
  });
});

describe('stream memory', () => {
  it('keeps no chunk of an async-iterable source once it is consumed, however long the stream runs', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('run under node --expose-gc (vitest.config.ts passes it)');
    const chunks: WeakRef<Float32Array>[] = [];
    async function* tracked(): AsyncGenerator<Float32Array> {
      for (let i = 0; i < 40; i++) {
        const chunk = new Float32Array(RATE / 4);
        chunks.push(new WeakRef(chunk));
        yield chunk;
      }
    }
    const handle = start(fake(0), tracked());
    await handle.finished;
    // The handle lives on (a service holds it to call stop()), and with it whatever the stream kept.
    await sleep(10);
    gc();
    await sleep(10);
    expect(chunks.filter((c) => c.deref()).length).toBeLessThanOrEqual(1);
    expect(handle.stats().hops).toBeGreaterThan(0);
  });
});

describe('stream results', () => {
  it("carry classify's warning for a window that means nothing (a muted source), and none once there is signal", async () => {
    // As classify() answers: a warning for a silent window, none for one with signal.
    const judge: WindowClassifier = {
      ...fake(0),
      classify: async (window) => ({
        ...(await fake(0).classify(window, RATE, {})),
        ...(window.every((v) => v === 0) ? { warning: 'no usable signal: the input is silent' } : {}),
      }),
    };
    async function* mutedThenSpeech(): AsyncGenerator<Float32Array> {
      for (let i = 0; i < 8; i++) yield i < 4 ? new Float32Array(RATE / 4) : Float32Array.from({ length: RATE / 4 }, (_, j) => Math.sin(j / 7));
    }
    const results: { timestamp: number; warning?: string }[] = [];
    const options = { backpressure: true };
    await feedIterable(new StreamSession(judge, (r) => results.push(r), options), mutedThenSpeech(), options).finished;
    // Windows of one second ending at 0.5 and 0.75 s hold muted audio alone; from 1.25 s on, each holds speech.
    expect(results.map((r) => [r.timestamp, r.warning ?? null])).toEqual([
      [0.5, 'no usable signal: the input is silent'],
      [0.75, 'no usable signal: the input is silent'],
      [1, 'no usable signal: the input is silent'],
      [1.25, null],
      [1.5, null],
      [1.75, null],
      [2, null],
    ]);
  });
});

describe('stream backpressure', () => {
  /** `n` chunks of one second each, at `rate`: longer than a hop, as a file reader yields them. */
  async function* seconds(n: number, rate = RATE): AsyncGenerator<Float32Array> {
    for (let i = 0; i < n; i++) yield new Float32Array(rate);
  }

  it.each([RATE, 44100])('serves every hop of chunks longer than a hop at %i Hz: one result per hop, nothing dropped', async (rate) => {
    const timestamps: number[] = [];
    const options = { sampleRate: rate, backpressure: true };
    const handle = feedIterable(new StreamSession(fake(1), (r) => timestamps.push(r.timestamp), options), seconds(2, rate), options);
    await handle.finished;
    // From half a window (0.5 s), every 0.25 s to the end, each result at its own hop.
    expect(timestamps).toEqual([0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);
    expect(handle.stats()).toMatchObject({ hops: 7, inferences: 7, dropped: 0 });
  });
});

describe('stream from a microphone', () => {
  /** A browser's Web Audio as far as captureAudio uses it, keeping what it was asked to release: the microphone
   * runs at 48 kHz; in Firefox a MediaStream connects only to a context at the device's rate (Mozilla bug 1725336:
   * NotSupportedError otherwise). A context made `suspended` calls `onResume` before it runs. */
  function fakeAudio({ firefox = false, suspended = false, onResume = async () => undefined } = {}) {
    const contexts: AudioContext[] = [];
    const captures: AudioWorkletNode[] = [];
    const microphones: ReturnType<typeof mediaStream>[] = [];
    /** A MediaStreamTrack as the Media Capture spec has it: its own stop() ends it without an event; 'ended'
     * fires when it ends by itself (end(): the device unplugged, the permission revoked), once. */
    const track = () => {
      const listeners = new Set<() => void>();
      const t = {
        readyState: 'live' as 'live' | 'ended',
        stopped: false,
        listeners,
        addEventListener: (type: string, f: () => void) => void (type === 'ended' && listeners.add(f)),
        removeEventListener: (type: string, f: () => void) => void (type === 'ended' && listeners.delete(f)),
        stop: () => void ((t.stopped = true), (t.readyState = 'ended')),
        end: () => {
          if (t.readyState === 'ended') return;
          t.readyState = 'ended';
          [...listeners].forEach((f) => f());
        },
      };
      return t;
    };
    const mediaStream = (audioTracks = 1) => {
      const tracks = Array.from({ length: audioTracks }, track);
      return { tracks, getTracks: () => tracks, getAudioTracks: () => tracks };
    };
    class AudioNode {
      readonly outputs = new Set<AudioNode>();
      constructor(readonly context: AudioContext) {}
      connect(to: AudioNode) {
        this.outputs.add(to);
      }
      /** As the Web Audio API: from a node it is not connected to, disconnect throws. */
      disconnect(from?: AudioNode) {
        if (!from) this.outputs.clear();
        else if (!this.outputs.delete(from)) throw new DOMException('not connected to the given destination', 'InvalidAccessError');
      }
    }
    class AudioContext {
      readonly sampleRate: number;
      state = suspended ? 'suspended' : 'running';
      audioWorklet = { addModule: async () => undefined };
      constructor(options: { sampleRate?: number } = {}) {
        this.sampleRate = options.sampleRate ?? 48000;
        contexts.push(this);
      }
      createMediaStreamSource() {
        if (firefox && this.sampleRate !== 48000) throw new DOMException('Connecting AudioNodes from AudioContexts with different sample-rate is currently not supported.', 'NotSupportedError');
        return new AudioNode(this);
      }
      async resume() {
        await onResume();
        if (this.state === 'closed') throw new DOMException('Cannot resume a closed AudioContext.', 'InvalidStateError');
        this.state = 'running';
      }
      async close() {
        this.state = 'closed';
      }
    }
    class AudioWorkletNode extends AudioNode {
      readonly posted: unknown[] = [];
      port = { onmessage: null as ((e: { data: Float32Array }) => void) | null, postMessage: (m: unknown) => this.posted.push(m) };
      onprocessorerror: (() => void) | null = null;
      constructor(context: AudioContext) {
        super(context);
        captures.push(this);
      }
    }
    vi.stubGlobal('AudioNode', AudioNode);
    vi.stubGlobal('AudioContext', AudioContext);
    vi.stubGlobal('AudioWorkletNode', AudioWorkletNode);
    const getUserMedia = async () => microphones[microphones.push(mediaStream()) - 1];
    vi.stubGlobal('navigator', { mediaDevices: { getUserMedia } });
    vi.stubGlobal('URL', Object.assign(class extends URL {}, { createObjectURL: () => 'blob:capture' }));
    return { contexts, captures, microphones, mediaStream, AudioContext, AudioNode };
  }
  afterEach(() => vi.unstubAllGlobals());

  /** A stream from `source` whose inferences fail, given one window so that one runs. */
  async function failingStream(source: unknown, audio: ReturnType<typeof fakeAudio>, errors: unknown[]) {
    const options = { onError: (e: unknown) => errors.push(e) };
    const handle = await captureAudio(new StreamSession(fake(1, lost), () => undefined, options), source as MediaStream, options);
    audio.captures[0].port.onmessage!({ data: new Float32Array(audio.captures[0].context.sampleRate) });
    await sleep(50);
    return handle;
  }
  const lost = new Error('device lost');
  const settled = (p: Promise<void>) => Promise.race([p.then(() => 'resolved', (e: unknown) => e), sleep(2000).then(() => 'still pending after 2 s')]);

  it('records where the browser cannot run the microphone at the model\'s rate, resampling it here', async () => {
    const { microphones, captures } = fakeAudio({ firefox: true });
    const handle = await captureAudio(new StreamSession(fake(1), () => undefined, {}), 'microphone', {});
    // A second of the microphone at 48 kHz arrives as 16 kHz frames (less the resampler's 2.75 ms of look-ahead).
    captures[0].port.onmessage!({ data: new Float32Array(48000) });
    expect(handle.stats().audioSeconds).toBeCloseTo(1 - 44 / RATE, 3);
    await handle.stop();
    expect(microphones[0].tracks[0].stopped).toBe(true);
    expect(handle.stats().inferences).toBe(1);
  });

  it('releases the microphone it asked for when an inference fails, as stop() does, and reports the failure once', async () => {
    const audio = fakeAudio();
    const errors: unknown[] = [];
    const handle = await failingStream('microphone', audio, errors);
    expect(errors).toEqual([lost]);
    // The page had to call stop() itself: the microphone stayed on, the context open and finished pending.
    expect(audio.microphones[0].tracks[0].stopped).toBe(true);
    expect(audio.contexts.map((c) => c.state)).toEqual(['closed']);
    expect(audio.captures[0].posted).toEqual(['stop']);
    expect(audio.captures[0].port.onmessage).toBeNull();
    expect(await settled(handle.finished)).toBe(lost);
    await handle.stop(); // the caller's stop() afterwards changes nothing
    expect(errors).toEqual([lost]);
    expect(unhandled).toEqual([]);
  });

  it("stops none of the caller's audio when an inference fails: its MediaStream's tracks stay live", async () => {
    const audio = fakeAudio();
    const theirs = audio.mediaStream();
    const handle = await failingStream(theirs, audio, []);
    expect(theirs.tracks[0].stopped).toBe(false);
    // The context that the stream made for it is its own, and closed.
    expect(audio.contexts.map((c) => c.state)).toEqual(['closed']);
    expect(await settled(handle.finished)).toBe(lost);
  });

  it("stops none of the caller's audio when an inference fails: its AudioNode's context runs on, only our capture is disconnected", async () => {
    const audio = fakeAudio();
    const context = new audio.AudioContext();
    const theirs = new audio.AudioNode(context);
    const elsewhere = new audio.AudioNode(context);
    theirs.connect(elsewhere);
    const handle = await failingStream(theirs, audio, []);
    expect(context.state).toBe('running');
    expect([...theirs.outputs]).toEqual([elsewhere]);
    expect(audio.captures[0].posted).toEqual(['stop']);
    expect(await settled(handle.finished)).toBe(lost);
  });

  it('stop() releases the audio when the caller has disconnected its node already', async () => {
    const audio = fakeAudio();
    const theirs = new audio.AudioNode(new audio.AudioContext());
    const handle = await captureAudio(new StreamSession(fake(1), () => undefined, {}), theirs as unknown as AudioNode, {});
    theirs.disconnect(); // from everything, our capture included
    expect(await settled(handle.stop())).toBe('resolved');
    expect(audio.captures[0].posted).toEqual(['stop']);
    expect(await settled(handle.finished)).toBe('resolved');
  });

  it('gives its handle when audio arrives while the context is still resuming, and a failure then ends the stream', async () => {
    // The audio thread may run, and post, before resume() settles on the main thread; a real port holds the
    // messages until onmessage is set, and delivers them then.
    const audio = fakeAudio({
      suspended: true,
      onResume: async () => {
        audio.captures[0]?.port.onmessage?.({ data: new Float32Array(RATE) });
        await sleep(50);
      },
    });
    const errors: unknown[] = [];
    const handle = await failingStream('microphone', audio, errors);
    expect(errors).toEqual([lost]);
    expect(audio.microphones[0].tracks[0].stopped).toBe(true);
    expect(await settled(handle.finished)).toBe(lost);
  });

  /** A stream from `source` that classifies without failing, its errors gathered. */
  async function liveStream(source: unknown, errors: unknown[]) {
    const options = { onError: (e: unknown) => errors.push(e) };
    return captureAudio(new StreamSession(fake(1), () => undefined, options), source as MediaStream, options);
  }

  it('fails when the microphone ends by itself (unplugged, permission revoked): context closed, onError once, finished rejects', async () => {
    const audio = fakeAudio();
    const errors: unknown[] = [];
    const handle = await liveStream('microphone', errors);
    audio.microphones[0].tracks[0].end();
    // The capture waited on silence: the context stayed open and finished pending until the page called stop().
    const outcome = await settled(handle.finished);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/the microphone's track ended .*unplugged.*permission/);
    expect(errors).toEqual([outcome]);
    expect(audio.contexts.map((c) => c.state)).toEqual(['closed']);
    expect(audio.captures[0].posted).toEqual(['stop']);
    expect(audio.microphones[0].tracks[0].listeners.size).toBe(0);
    await handle.stop();
    expect(errors).toEqual([outcome]);
    expect(unhandled).toEqual([]);
  });

  it('fails when the microphone ends while the stream is starting, before it listens for the end', async () => {
    const audio = fakeAudio({ suspended: true, onResume: async () => void audio.microphones[0].tracks[0].end() });
    const errors: unknown[] = [];
    const handle = await liveStream('microphone', errors);
    const outcome = await settled(handle.finished);
    expect((outcome as Error).message).toMatch(/the microphone's track ended/);
    expect(errors).toEqual([outcome]);
    expect(audio.contexts.map((c) => c.state)).toEqual(['closed']);
  });

  it("fails when all of a caller's MediaStream's audio tracks have ended, stopping none of them, and closes our context", async () => {
    const audio = fakeAudio();
    const theirs = audio.mediaStream(2);
    const errors: unknown[] = [];
    const handle = await liveStream(theirs, errors);
    // One track left may still carry audio.
    theirs.tracks[0].end();
    await sleep(10);
    expect(errors).toEqual([]);
    expect(audio.contexts.map((c) => c.state)).toEqual(['running']);
    theirs.tracks[1].end();
    const outcome = await settled(handle.finished);
    expect((outcome as Error).message).toMatch(/the MediaStream's audio tracks ended/);
    expect(errors).toEqual([outcome]);
    expect(theirs.tracks.map((t) => t.stopped)).toEqual([false, false]);
    expect(audio.contexts.map((c) => c.state)).toEqual(['closed']);
    expect(theirs.tracks.map((t) => t.listeners.size)).toEqual([0, 0]);
  });

  it("ends as stop() ends it when its caller stops all of its MediaStream's tracks (which fires no 'ended')", async () => {
    const audio = fakeAudio();
    const theirs = audio.mediaStream(2);
    const errors: unknown[] = [];
    const handle = await liveStream(theirs, errors);
    // One track left may still carry audio.
    theirs.tracks[0].stop();
    await sleep(2 * TRACK_CHECK_MS);
    expect(audio.contexts.map((c) => c.state)).toEqual(['running']);
    theirs.tracks[1].stop();
    // The stream waited on silence, its context open and finished pending, until the page called stop().
    expect(await settled(handle.finished)).toBe('resolved');
    expect(errors).toEqual([]);
    expect(audio.contexts.map((c) => c.state)).toEqual(['closed']);
    expect(audio.captures[0].posted).toEqual(['stop']);
    expect(theirs.tracks.map((t) => t.listeners.size)).toEqual([0, 0]);
  });

  it('looks at the tracks no more once it has stopped', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const audio = fakeAudio();
      const handle = await liveStream(audio.mediaStream(), []);
      expect(vi.getTimerCount()).toBe(1);
      await handle.stop();
      // A timer left running would keep a stopped stream, and a Node process, alive.
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("is not failed by a caller's track that ends after stop(): the stream listens while it runs, not after", async () => {
    const audio = fakeAudio();
    const theirs = audio.mediaStream();
    const errors: unknown[] = [];
    const handle = await liveStream(theirs, errors);
    expect(theirs.tracks[0].listeners.size).toBe(1);
    await handle.stop();
    // Their stream outlives ours, and its track may end later (the device unplugged): no concern of a stopped stream.
    expect(theirs.tracks[0].listeners.size).toBe(0);
    theirs.tracks[0].end();
    await sleep(10);
    expect(errors).toEqual([]);
    expect(await settled(handle.finished)).toBe('resolved');
  });
});

describe('stream options', () => {
  const recognizer = createRecognizer({ config } as unknown as SerModel);
  const bad: [keyof StreamOptions, unknown][] = [
    ['sampleRate', 0],
    ['sampleRate', NaN],
    ['sampleRate', -44100],
    ['hopMs', NaN],
    ['hopMs', 0],
    ['hopMs', Infinity],
    ['smoothingMs', -100],
    ['smoothingMs', NaN],
    ['minWindowFraction', 0],
    ['minWindowFraction', 1.5],
    ['minWindowFraction', NaN],
    ['chunkFrames', 0],
    ['chunkFrames', 100.5],
    ['chunkFrames', '1024'],
    ['gender', 'F'],
    ['gender', 'x'],
  ];
  for (const [name, value] of bad) {
    it(`refuses ${name}: ${String(value)} with a RangeError that names it`, async () => {
      const attempt = recognizer.stream(chunks(1), () => undefined, { [name]: value });
      await expect(attempt).rejects.toThrow(RangeError);
      await expect(attempt).rejects.toThrow(`options.${name} must be`);
      await expect(attempt).rejects.toThrow(`got ${name === 'gender' ? JSON.stringify(value) : String(value)}`);
    });
  }

  it('setGender refuses a gender other than f or m where it is called, not at the next inference', async () => {
    const handle = start(fake(1), chunks(2), {});
    expect(() => handle.setGender('F' as never)).toThrow(/stream: setGender\(gender\) must be 'f' or 'm', got "F"/);
    handle.setGender('m');
    handle.setGender(undefined);
    await handle.finished;
    expect(handle.stats().inferences).toBeGreaterThan(0);
  });

  it('accepts the edges: 44.1 kHz chunks, no smoothing, results from a whole window only', async () => {
    const handle = start(fake(1), chunks(12), { sampleRate: 44100, smoothingMs: 0, minWindowFraction: 1, hopMs: 0.5, chunkFrames: 128 });
    await handle.finished;
    expect(handle.stats().inferences).toBeGreaterThan(0);
  });
});

describe('classifyWav input', () => {
  const recognizer = createRecognizer({ config } as unknown as SerModel);
  it('refuses a path with a TypeError that says to read the file first', async () => {
    const attempt = recognizer.classifyWav('speech.wav' as never);
    await expect(attempt).rejects.toThrow(TypeError);
    await expect(attempt).rejects.toThrow(/"speech\.wav".*readFile/);
  });

  it('refuses a Blob over the size limit of a WAV file before reading it, naming it', async () => {
    const huge = Object.defineProperty(new Blob([]), 'size', { value: MAX_AUDIO_FILE_BYTES + 1 });
    const read = vi.spyOn(huge, 'arrayBuffer');
    const attempt = recognizer.classifyWav(huge, { name: 'upload.wav' });
    await expect(attempt).rejects.toThrow(RangeError);
    await expect(attempt).rejects.toThrow(`upload.wav: too large: ${MAX_AUDIO_FILE_BYTES + 1} bytes (the limit is ${MAX_AUDIO_FILE_BYTES} bytes, 512 MiB)`);
    expect(read).not.toHaveBeenCalled();
  });

  it('refuses a SharedArrayBuffer, or anything else that is not WAV bytes, naming what it was given', async () => {
    await expect(recognizer.classifyWav(new SharedArrayBuffer(100) as never)).rejects.toThrow(TypeError);
    await expect(recognizer.classifyWav(new SharedArrayBuffer(100) as never)).rejects.toThrow('a SharedArrayBuffer');
    await expect(recognizer.classifyWav(42 as never)).rejects.toThrow('a number');
    await expect(recognizer.classifyWav(null as never)).rejects.toThrow('null');
  });
});
