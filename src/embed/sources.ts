// Where a stream's audio comes from: an async iterable of Float32Array chunks (Node, or any source), or, in a
// page, a microphone, MediaStream or AudioNode captured by an AudioWorklet. Audio at another rate than the
// model's goes through the streaming form of the training resampler (src/audio/resample.ts) on the way in.
//
// The AudioWorklet processor is built from `captureProcessor` below as a Blob URL, so the bundle stays one file;
// our own AudioContext runs at the model's rate, so the browser resamples the microphone and the main thread
// only receives ready frames (Firefox cannot: there the context runs at the device's rate, resampled here).

import { StreamingResampler } from '../audio/resample.js';
import type { StreamSession } from './stream-session.js';
import type { StreamHandle, StreamOptions } from './types.js';

export function isAsyncIterable(x: unknown): x is AsyncIterable<Float32Array> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

export function feedIterable(session: StreamSession, source: AsyncIterable<Float32Array>, options: StreamOptions): StreamHandle {
  const modelRate = session.sampleRate;
  const resampler = options.sampleRate !== undefined && options.sampleRate !== modelRate ? new StreamingResampler(options.sampleRate, modelRate) : null;
  // The iterator is ours rather than for-await's, so that stop() need not wait for a chunk that a live source
  // may never send: stop() settles the wait for each next(). A wait of its own each time: Promise.race against
  // one stop promise left a reaction on it per chunk, which kept every chunk as long as the handle lived.
  const iterator = source[Symbol.asyncIterator]();
  let stopped = false;
  let signalStop = () => {};
  const nextOrStop = () =>
    new Promise<IteratorResult<Float32Array> | null>((ok, fail) => {
      signalStop = () => ok(null);
      Promise.resolve(iterator.next()).then(ok, fail);
    });
  // A failed inference ends the wait too: a live source gone silent kept its iterator, and finished pending.
  session.onFail(() => signalStop());
  const release = () => {
    // Not awaited: a silent source's return() may hang as its next() does.
    try {
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    } catch {
      // a source whose return() throws has nothing left to release
    }
  };
  const push = async (frames: Float32Array) => {
    if (!options.backpressure) return session.push(frames);
    // Hop by hop, each inference awaited: pushed whole, a chunk longer than a hop (a file read a second at a
    // time) brought several hops due at once, and all but one were dropped.
    for (let at = 0; at < frames.length && !stopped && !session.failed; ) {
      const n = Math.min(frames.length - at, session.samplesToNextHop);
      session.push(frames.subarray(at, at + n));
      at += n;
      await session.idle();
    }
  };
  const finished = (async () => {
    try {
      for (;;) {
        const next = await nextOrStop();
        if (!next || next.done) break;
        await push(resampler ? resampler.push(next.value) : next.value);
        if (stopped || session.failed) break;
      }
      if (stopped || session.failed) release();
      // The source has ended: the resampler's last outputs waited for input that will not come.
      else if (resampler) await push(resampler.flush());
    } catch (e) {
      // The source threw (or gave something that is not audio): reported as a failed inference is.
      session.fail(e);
      release();
    }
    await session.idle();
    if (session.failed) throw session.error;
  })();
  // Failures reach onError once; finished still rejects for those who await it, but leaving it unawaited must
  // not end a Node process with an unhandled rejection.
  finished.catch(() => undefined);
  return {
    setGender: (g) => session.setGender(g),
    stats: () => session.stats(),
    stop: async () => {
      stopped = true;
      signalStop();
      await finished.catch(() => undefined);
    },
    finished,
  };
}

export async function captureAudio(session: StreamSession, source: 'microphone' | MediaStream | AudioNode, options: StreamOptions): Promise<StreamHandle> {
  if (typeof AudioWorkletNode === 'undefined') throw new Error('stream: audio sources need a browser with AudioWorklet; pass an async iterable of Float32Array chunks instead');
  const modelRate = session.sampleRate;
  // Voice processing would reshape the very cues the model reads (level, spectrum).
  const ownStream = source === 'microphone' ? await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } }) : null;
  const input = ownStream ?? (source as MediaStream | AudioNode);
  let ownContext: AudioContext | null = null;
  let capture: AudioWorkletNode;
  let node: AudioNode;
  let resolveFinished!: () => void;
  let rejectFinished!: (e: unknown) => void;
  const finished = new Promise<void>((ok, no) => ((resolveFinished = ok), (rejectFinished = no)));
  // As for async iterables: failures reach onError once, and an unawaited finished must not be unhandled.
  finished.catch(() => undefined);
  // A track that ends by itself (the device unplugged or taken by another application, the permission revoked)
  // leaves the capture waiting on silence, our context open and finished pending: a failure of the stream. Per
  // the Media Capture spec 'ended' fires only for such an end, never for the track's own stop(). A caller's
  // stream fails only once all its audio tracks have ended: while one is live, it may still carry audio.
  const tracks = input instanceof AudioNode ? [] : input.getAudioTracks();
  const tracksEnded = () => tracks.length > 0 && tracks.every((t) => t.readyState === 'ended');
  const failIfTracksEnded = () => {
    if (!tracksEnded()) return;
    session.fail(
      new Error(
        ownStream
          ? "stream: the microphone's track ended (the device was unplugged or taken by another application, or the permission was revoked)"
          : "stream: the MediaStream's audio tracks ended (their device was unplugged or taken by another application, the permission was revoked, or their sender ended them)",
      ),
    );
  };
  // A caller who stops its own tracks ends its audio: the stream then ends as stop() ends it. No event says so
  // (a track's own stop() fires no 'ended'), so the tracks are looked at every TRACK_CHECK_MS while it runs.
  let trackCheck: ReturnType<typeof setInterval> | undefined;
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      // First: a stopped stream is not failed by a track that ends later (a caller's stream outlives ours), and
      // the listeners would keep this stream alive as long as the tracks live.
      clearInterval(trackCheck);
      tracks.forEach((t) => t.removeEventListener('ended', failIfTracksEnded));
      capture.port.onmessage = null;
      try {
        node.disconnect(capture);
      } catch {
        // A caller's node disconnected from everything already (InvalidAccessError): threw here, stop() rejected
        // and left the microphone on and the context open.
      }
      // process() returns false from then on: a caller's AudioNode keeps its context running, and the processor
      // with it otherwise. The processor closes the port itself, once the message has arrived.
      capture.port.postMessage('stop');
      ownStream?.getTracks().forEach((t) => t.stop());
      await ownContext?.close();
      await session.idle();
      if (session.failed) rejectFinished(session.error);
      else resolveFinished();
    })());
  // A failure ends the capture as stop() does: only what is ours is stopped (our microphone, our context).
  session.onFail(() => void stop());
  try {
    // Our own context runs at the model's rate (the browser resamples the microphone); a caller's node keeps
    // its context's rate and is resampled here. Inside the try: a browser may refuse the rate (Chrome below
    // 3 kHz, Firefox below 8 kHz), and the microphone must then be released.
    if (input instanceof AudioNode) node = input;
    else {
      ownContext = new AudioContext({ sampleRate: modelRate });
      try {
        node = ownContext.createMediaStreamSource(input);
      } catch (e) {
        // Firefox connects a MediaStream only to a context at the device's rate (NotSupportedError, Mozilla bug
        // 1725336), so the microphone failed there: a context at its default rate then, resampled here.
        if (!(e instanceof DOMException && e.name === 'NotSupportedError')) throw e;
        const refused = ownContext;
        ownContext = null;
        await refused.close();
        ownContext = new AudioContext();
        node = ownContext.createMediaStreamSource(input);
      }
    }
    const context = node.context;
    const resampler = context.sampleRate !== modelRate ? new StreamingResampler(context.sampleRate, modelRate) : null;
    await context.audioWorklet.addModule(captureProcessorUrl());
    capture = new AudioWorkletNode(context, CAPTURE_PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      processorOptions: { chunkFrames: options.chunkFrames ?? 1024 },
    });
    // Resumed before the capture is connected: from then on a failure closes the context, which a pending
    // resume() must not meet (it rejected, and stream() with it, for a stream that had started and failed).
    if (ownContext?.state === 'suspended') await ownContext.resume();
    node.connect(capture);
    capture.port.onmessage = (e: MessageEvent<Float32Array>) => session.push(resampler ? resampler.push(e.data) : e.data);
    // The processor threw on the audio thread: it sends nothing more, so the stream fails and releases its audio.
    capture.onprocessorerror = () => session.fail(new Error('stream: the audio capture processor failed (processorerror)'));
  } catch (e) {
    ownStream?.getTracks().forEach((t) => t.stop());
    await ownContext?.close();
    throw e;
  }
  // Listened to only now that there is a capture for a failure to stop; a track that ended while it was being
  // set up (the prompt, the worklet's module, resume()) fired its 'ended' unheard, hence the check.
  tracks.forEach((t) => t.addEventListener('ended', failIfTracksEnded));
  failIfTracksEnded();
  if (tracks.length > 0 && !stopping) {
    trackCheck = setInterval(() => {
      if (tracksEnded()) void stop();
    }, TRACK_CHECK_MS);
  }
  return {
    setGender: (g) => session.setGender(g),
    stats: () => session.stats(),
    stop,
    finished,
  };
}

/** How often a running stream looks for tracks its caller stopped (a quarter of a second: the end of a
 * recording a page stopped, noticed about as soon as a person would). */
export const TRACK_CHECK_MS = 250;

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
    private stopped: boolean;
    constructor(options: { processorOptions: { chunkFrames: number } }) {
      super();
      this.frames = options.processorOptions.chunkFrames;
      this.chunk = new Float32Array(this.frames);
      this.filled = 0;
      this.stopped = false;
      // The stream's stop(): nothing more to post, and false from process() lets the node be collected.
      this.port.onmessage = () => {
        this.stopped = true;
        this.port.close();
      };
    }
    process(inputs: Float32Array[][]): boolean {
      if (this.stopped) return false;
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
