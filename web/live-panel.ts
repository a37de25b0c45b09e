// The live panel: records from the microphone through the embedding API's stream(), charts the smoothed
// probabilities over audio time and shows how well the device keeps up (inference time, real-time factor,
// dropped hops). Changing the gender applies from the next window; changing the model stops the recording.

import type { StreamHandle, StreamResult, StreamStats } from '../src/embed.js';
import type { App } from './app.js';
import { $ } from './dom.js';
import { LineChart, renderBars } from './chart.js';

export interface LiveState {
  recording: boolean;
  results: StreamResult[];
  stats: StreamStats | null;
  error: string | null;
}

export function setupLivePanel(app: App): LiveState {
  const state: LiveState = { recording: false, results: [], stats: null, error: null };
  const record = $<HTMLButtonElement>('record');
  const stopButton = $<HTMLButtonElement>('stop');
  let handle: StreamHandle | null = null;
  let release: (() => void) | null = null;
  let chart: LineChart | null = null;

  const stop = async (note = 'stopped') => {
    const [h, letGo] = [handle, release];
    [handle, release] = [null, null];
    if (!h) return;
    try {
      await h.stop();
    } finally {
      letGo?.();
    }
    state.stats = h.stats();
    state.recording = false;
    record.disabled = false;
    stopButton.disabled = true;
    showStats(state.stats, note);
  };

  record.addEventListener('click', async () => {
    if (handle || !app.recognizer) {
      if (!app.recognizer) $('live-stats').textContent = 'no model loaded: load a checkpoint or train one first';
      return;
    }
    const recognizer = app.recognizer;
    // Held until the stream stops: a model loaded while the microphone prompt is open must not dispose it.
    const letGo = app.hold(recognizer);
    record.disabled = true;
    state.results = [];
    state.error = null;
    chart = chartFor(recognizer.classes);
    try {
      const h = await recognizer.stream(
        'microphone',
        (r) => {
          state.results.push(r);
          chart?.push(r.timestamp, recognizer.classes.map((k) => r.smoothed[k]));
          // A muted microphone still gets a result: it says so rather than name an emotion of silence.
          $('live-emotion').textContent = r.warning ? 'no signal' : r.emotion;
          renderBars($('live-bars'), r.smoothed);
          state.stats = handle?.stats() ?? null;
          if (state.stats) showStats(state.stats, r.genderGiven ? `gender ${r.gender}` : `gender guess ${r.gender}`);
        },
        { gender: app.gender(), onError: (e) => (state.error = (e as Error).message) },
      );
      [handle, release] = [h, letGo];
      // A failed stream has ended itself, the microphone released: the page follows, saying why (also when it
      // failed before its handle came back).
      void h.finished.catch(() => stop(`stopped: ${state.error}`));
      // The model changed while the prompt was open: the stream would run on the old one, microphone on.
      if (app.recognizer !== recognizer) {
        await stop();
        return;
      }
      state.recording = true;
      stopButton.disabled = false;
      $('live-stats').textContent = 'listening… the first result comes after half a window of audio';
    } catch (e) {
      letGo();
      state.error = (e as Error).message;
      $('live-stats').textContent = `cannot record: ${state.error}`;
      record.disabled = false;
    }
  });
  stopButton.addEventListener('click', () => void stop());
  $<HTMLSelectElement>('gender').addEventListener('change', () => handle?.setGender(app.gender()));
  app.onModelChange(async () => {
    await stop();
    chart = chartFor(app.recognizer!.classes);
  });
  return state;
}

function chartFor(classes: string[]): LineChart {
  return new LineChart($<HTMLCanvasElement>('live-chart'), { series: classes, yRange: [0, 1], xSpan: 20, xLabel: 'audio seconds' });
}

function showStats(s: StreamStats, note: string): void {
  const rate = s.audioSeconds > 0 ? s.inferences / s.audioSeconds : 0;
  $('live-stats').textContent =
    `${rate.toFixed(1)} results per audio second · inference ${s.meanInferenceMs.toFixed(0)} ms (max ${s.maxInferenceMs.toFixed(0)}) · ` +
    `real-time factor ${s.realTimeFactor.toFixed(3)} · latency ${s.meanLatencyMs.toFixed(0)} ms · dropped ${s.dropped} of ${s.hops} hops · ${note}`;
}
