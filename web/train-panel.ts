// The "train here" panel: trains on a synthetic corpus inside the page (web/train-loop.ts) with a live loss
// curve, then offers the model to the other panels and as a checkpoint download.

import { createRecognizer } from '../src/embed.js';
import type { ModelPreset } from '../src/model/config.js';
import { encodeModel } from '../src/model/model-file.js';
import type { SerModel } from '../src/model/ser-model.js';
import type { App } from './app.js';
import { $ } from './dom.js';
import { LineChart } from './chart.js';
import { trainInPage, type CorpusSize } from './train-loop.js';

export interface TrainingState {
  running: boolean;
  losses: number[];
  seconds: number;
  error: string | null;
}

export function setupTrainPanel(app: App): TrainingState {
  const state: TrainingState = { running: false, losses: [], seconds: 0, error: null };
  const train = $<HTMLButtonElement>('train');
  const stop = $<HTMLButtonElement>('train-stop');
  const use = $<HTMLButtonElement>('train-use');
  const download = $<HTMLAnchorElement>('train-download');
  const status = $('train-status');
  let stopRequested = false;
  let trained: SerModel | null = null;
  const newChart = () => new LineChart($<HTMLCanvasElement>('loss-chart'), { series: ['training loss'], xLabel: 'step' });
  newChart();

  train.addEventListener('click', async () => {
    if (state.running) return;
    const preset = $<HTMLSelectElement>('train-preset').value as ModelPreset;
    const corpus = $<HTMLSelectElement>('train-corpus').value as CorpusSize;
    const steps = Math.max(1, Math.min(2000, Number($<HTMLInputElement>('train-steps').value) || 60));
    Object.assign(state, { running: true, losses: [], seconds: 0, error: null });
    stopRequested = false;
    [train.disabled, stop.disabled, use.disabled, download.hidden] = [true, false, true, true];
    trained?.dispose();
    trained = null;
    const chart = newChart();
    status.textContent = `generating the ${corpus} synthetic corpus and the ${preset} model (the first step also compiles the shaders)…`;
    await new Promise((ok) => setTimeout(ok, 0)); // paint the status first
    const started = performance.now();
    try {
      const result = await trainInPage({
        preset,
        corpus,
        steps,
        onStep: (step, loss) => {
          state.losses.push(loss);
          chart.push(step, [loss]);
          const perStep = (performance.now() - started) / 1000 / step;
          status.textContent = `step ${step}/${steps} · loss ${loss.toFixed(4)} · ${perStep.toFixed(2)} s per step`;
        },
        shouldStop: () => stopRequested,
      });
      state.seconds = result.seconds;
      // Stopped while the corpus and the model were being made: an untrained model is nothing to offer.
      if (state.losses.length === 0) {
        result.model.dispose();
        status.textContent = 'stopped before the first step: no model trained';
        return;
      }
      trained = result.model;
      const first = state.losses[0];
      const last = state.losses.at(-1);
      status.textContent = `trained ${state.losses.length} steps on ${result.windows} synthetic windows in ${result.seconds.toFixed(1)} s: loss ${first?.toFixed(3)} → ${last?.toFixed(3)}`;
      // Offered once it encodes: encodeModel refuses weights that are not finite, which no page should classify with.
      const bytes = await encodeModel(trained, {}, { corpus: 'synthetic (trained in the browser)' });
      use.disabled = false;
      if (download.href) URL.revokeObjectURL(download.href);
      download.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
      download.hidden = false;
    } catch (e) {
      trained?.dispose();
      trained = null;
      state.error = (e as Error).message;
      status.textContent = `training failed: ${state.error}`;
    } finally {
      state.running = false;
      [train.disabled, stop.disabled] = [false, true];
    }
  });
  stop.addEventListener('click', () => (stopRequested = true));
  use.addEventListener('click', async () => {
    if (!trained) return;
    const model = trained;
    trained = null; // the recognizer owns it now
    use.disabled = true;
    await app.useRecognizer(createRecognizer(model), 'model trained in this page');
  });
  return state;
}
