// The demo page: finds a WebGPU adapter (or says plainly that there is none), loads a checkpoint, and wires
// the panels: WAV files, live microphone, train here. Everything runs on the page's own engine through the
// embedding API (src/embed.ts). `window.serApp` exposes the page's state to the browser tests.

import { init } from '../src/engine/context.js';
import type { AdapterDescription } from '../src/gpu/device.js';
import * as embed from '../src/embed.js';
import type { Recognizer, SpeakerGender } from '../src/embed.js';
import { shippedModelUrl, SHIPPED_MODEL_DESCRIPTION } from '../src/model/shipped.js';
import { $ } from './dom.js';
import { setupFilesPanel, type FileResult } from './files-panel.js';
import { setupLivePanel, type LiveState } from './live-panel.js';
import { modelSummary } from './model-summary.js';
import { setupTrainPanel, type TrainingState } from './train-panel.js';

export interface App {
  recognizer: Recognizer | null;
  gender(): SpeakerGender | undefined;
  /** Replaces the page's model (the previous one is released once nothing streams from it or holds it). */
  useRecognizer(recognizer: Recognizer, label: string): Promise<void>;
  /** Keeps a recognizer from being disposed while work on it runs (a WAV being classified, a stream waiting
   * for the microphone); the function returned lets go, and disposes it if it has been replaced meanwhile. */
  hold(recognizer: Recognizer): () => void;
  onModelChange(listener: () => Promise<void> | void): void;
}

/** What the browser tests read and call. */
export interface PageHooks {
  ready: boolean;
  error: string | null;
  adapter: AdapterDescription | null;
  backend: 'webgpu' | 'cpu' | null;
  embed: typeof embed;
  loadModel(source: embed.CheckpointSource): Promise<void>;
  files: FileResult[];
  live: LiveState;
  training: TrainingState;
  /** Main-thread tasks over 50 ms (PerformanceObserver 'longtask'), in ms. */
  longTasks: number[];
}

declare global {
  interface Window {
    serApp: PageHooks;
  }
}

/** Where `npm run demo` writes its final model: loaded by default when present, else the shipped model. */
const DEMO_MODEL = '/runs/demo/model.safetensors';

/** Counts the models chosen (loads begun, a trained model used), so that a load overtaken by a later choice (a
 * second click, a file picked while the default model loads) can tell. */
let modelChoices = 0;

function createApp(): App {
  const listeners: (() => Promise<void> | void)[] = [];
  const holds = new Map<Recognizer, number>();
  const app: App = {
    recognizer: null,
    gender: () => ($<HTMLSelectElement>('gender').value || undefined) as SpeakerGender | undefined,
    async useRecognizer(recognizer, label) {
      modelChoices++; // a load still running was chosen before this model
      const previous = app.recognizer;
      app.recognizer = recognizer;
      for (const l of listeners) await l();
      // Work still running on the previous model disposes it when it lets go (hold).
      if (previous && !holds.has(previous)) previous.dispose();
      $('model-status').textContent = modelSummary(label, recognizer);
    },
    onModelChange: (listener) => listeners.push(listener),
    hold(recognizer) {
      holds.set(recognizer, (holds.get(recognizer) ?? 0) + 1);
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        const n = holds.get(recognizer)! - 1;
        if (n > 0) return void holds.set(recognizer, n);
        holds.delete(recognizer);
        if (recognizer !== app.recognizer) recognizer.dispose();
      };
    },
  };
  return app;
}

async function loadInto(app: App, source: embed.CheckpointSource, label: string): Promise<void> {
  const choice = ++modelChoices;
  $('model-status').textContent = `loading ${label}…`;
  try {
    const recognizer = await embed.loadRecognizer(source);
    // A choice made later has the last word: finishing after it, this load replaced the model chosen last.
    if (choice !== modelChoices) return recognizer.dispose();
    await app.useRecognizer(recognizer, label);
  } catch (e) {
    if (choice === modelChoices) $('model-status').textContent = `could not load ${label}: ${(e as Error).message}`;
    throw e;
  }
}

/** navigator.gpu and an adapter, or the reason there is none. */
async function findAdapter(): Promise<string | null> {
  if (!navigator.gpu) return window.isSecureContext ? 'navigator.gpu is missing.' : 'WebGPU needs a secure context (https or localhost).';
  try {
    return (await navigator.gpu.requestAdapter()) ? null : 'navigator.gpu.requestAdapter() found no adapter.';
  } catch (e) {
    return `requestAdapter failed: ${(e as Error).message}`;
  }
}

async function start(hooks: PageHooks, app: App, backend: 'webgpu' | 'cpu'): Promise<void> {
  const e = await init({ backend });
  hooks.backend = backend;
  hooks.adapter = e.adapter ?? null;
  const a = e.adapter;
  $('adapter').textContent = a ? `WebGPU: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' · ')}` : 'CPU reference backend (no GPU)';
  const requested = new URLSearchParams(location.search).get('model');
  if (requested) await loadInto(app, requested, requested);
  else if ((await fetch(DEMO_MODEL, { method: 'HEAD' })).ok) await loadInto(app, DEMO_MODEL, DEMO_MODEL);
  else await loadInto(app, shippedModelUrl().href, SHIPPED_MODEL_DESCRIPTION);
}

async function main(): Promise<void> {
  const app = createApp();
  const hooks: PageHooks = {
    ready: false,
    error: null,
    adapter: null,
    backend: null,
    embed,
    loadModel: (source) => loadInto(app, source, typeof source === 'string' ? source : 'checkpoint'),
    files: setupFilesPanel(app),
    live: setupLivePanel(app),
    training: setupTrainPanel(app),
    longTasks: [],
  };
  window.serApp = hooks;
  try {
    new PerformanceObserver((list) => hooks.longTasks.push(...list.getEntries().map((t) => t.duration))).observe({ type: 'longtask', buffered: true });
  } catch {
    // 'longtask' is Chromium-only; the page works without it.
  }

  $<HTMLInputElement>('model-file').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    // Cleared, so that choosing the same file again (mended since a failed load) fires another change.
    input.value = '';
    if (file) void loadInto(app, file, file.name).catch(() => undefined);
  });
  $('model-load-url').addEventListener('click', () => {
    const url = $<HTMLInputElement>('model-url').value.trim();
    if (url) void loadInto(app, url, url).catch(() => undefined);
  });

  // ?backend=cpu runs the page on the CPU reference (for comparisons, or a browser without WebGPU).
  if (new URLSearchParams(location.search).get('backend') === 'cpu') {
    await start(hooks, app, 'cpu').catch((e: Error) => (hooks.error = e.message));
    hooks.ready = true;
    return;
  }
  const missing = await findAdapter();
  if (missing) {
    $('no-webgpu-reason').textContent = missing;
    $('no-webgpu').hidden = false;
    $('adapter').textContent = 'no WebGPU';
    $('adapter').classList.add('error');
    hooks.error = missing;
    $('use-cpu').addEventListener('click', () => {
      $('no-webgpu').hidden = true;
      // As with ?backend=cpu: a model that fails to load is reported (model-status and hooks.error), and the page
      // is ready either way, not left waiting on an unhandled rejection.
      void start(hooks, app, 'cpu')
        .catch((e: Error) => (hooks.error = e.message))
        .then(() => (hooks.ready = true));
    });
    return;
  }
  try {
    await start(hooks, app, 'webgpu');
  } catch (e) {
    hooks.error = (e as Error).message;
    // Once the backend is up, what failed is the model (model-status says so): the adapter pill keeps the adapter.
    if (!hooks.backend) {
      $('adapter').textContent = `WebGPU failed: ${hooks.error}`;
      $('adapter').classList.add('error');
    }
  }
  hooks.ready = true;
}

void main();
