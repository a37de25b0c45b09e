// The demo page in real headless Chromium: it finds a WebGPU adapter; a checkpoint trained in Node gives the
// same probabilities in the page as in Node for the same WAV; a few training steps in the page lower the loss;
// the fake microphone streams live results (the default model's real-time factor is measured and recorded to
// test-results/browser-measurements.json); a screenshot goes to test-results/demo-page.png. Without WebGPU the
// page says so.

import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWeb } from '../../src/cli/web.js';
import { init } from '../../src/engine/context.js';
import type { StreamStats } from '../../src/embed.js';
import { classify } from '../../src/model/recognizer.js';
import { decodeWav } from '../../src/audio/index.js';
import { CHROMIUM, fakeMicrophoneArgs, hasChromium, launchChromium, tail, type Browser } from './chromium.js';
import { TEST_ROUTES, writeFixtures, type Fixtures } from './fixtures.js';
import { RESULTS_DIR, recordMeasurement } from './measurements.js';
import { titleNeeding } from '../skip.js';

const PARITY_TOLERANCE = 1e-4;

let fixtures: Fixtures;
let server: Awaited<ReturnType<typeof serveWeb>>;
let browser: Browser;
let page: Page;

const hooks = <T>(fn: string) => page.evaluate(`(${fn})(window.serApp)`) as Promise<T>;
const waitFor = (predicate: string, timeout = 120_000) => page.waitForFunction(`(${predicate})(window.serApp)`, undefined, { timeout, polling: 100 });

describe.skipIf(!hasChromium)(titleNeeding(hasChromium, 'demo page in headless Chromium', `no Chromium at ${CHROMIUM}`), () => {
  beforeAll(async () => {
    await init();
    fixtures = await writeFixtures();
    server = await serveWeb(0, { routes: TEST_ROUTES });
    browser = await launchChromium(fakeMicrophoneArgs(fixtures.microphone.path));
    page = await browser.newPage(`${server.url}?model=${fixtures.trainedModel.url}`);
    await waitFor('(app) => app && app.ready');
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fixtures?.trainedModel.model.dispose();
  });

  it('finds a WebGPU adapter and loads the checkpoint named in ?model=', async () => {
    const state = await hooks<{ error: string | null; backend: string; adapter: Record<string, unknown> | null; status: string }>(
      '(app) => ({ error: app.error, backend: app.backend, adapter: app.adapter, status: document.getElementById("model-status").textContent })',
    );
    expect(state.error, tail(browser.log)).toBeNull();
    expect(state.backend).toBe('webgpu');
    expect(state.adapter).not.toBeNull();
    expect(state.status).toContain('trained-compact.safetensors');
    await recordMeasurement('chromium-adapter', { adapter: state.adapter });
  });

  it(`gives the same probabilities in the page as in Node for the same WAV (within ${PARITY_TOLERANCE})`, async () => {
    const { samples, sampleRate } = decodeWav(fixtures.speech.bytes, fixtures.speech.path);
    for (const [gender, index] of [['', 0], ['f', 1]] as const) {
      await page.selectOption('#gender', gender);
      await page.setInputFiles('#wav-input', fixtures.speech.path);
      await waitFor(`(app) => app.files.length === ${index + 1}`);
      const inPage = await hooks<{ result?: Awaited<ReturnType<typeof classify>>; error?: string }>(`(app) => app.files[${index}]`);
      expect(inPage.error, tail(browser.log)).toBeUndefined();
      const inNode = await classify(fixtures.trainedModel.model, samples, sampleRate, { gender: gender || undefined });
      const got = inPage.result!;
      expect(Object.keys(got.probabilities)).toEqual(Object.keys(inNode.probabilities));
      for (const k of Object.keys(inNode.probabilities)) expect(Math.abs(got.probabilities[k] - inNode.probabilities[k])).toBeLessThan(PARITY_TOLERANCE);
      for (const g of ['f', 'm'] as const) expect(Math.abs(got.genderProbabilities[g] - inNode.genderProbabilities[g])).toBeLessThan(PARITY_TOLERANCE);
      expect(got).toMatchObject({ emotion: inNode.emotion, gender: inNode.gender, genderGiven: !!gender });
    }
    // The embedding API directly, from URLs, as a host page would call it.
    const direct = await page.evaluate(
      async ([model, wav]) => {
        const api = window.serApp.embed;
        const recognizer = await api.loadRecognizer(model);
        const r = await recognizer.classifyWav(await (await fetch(wav)).arrayBuffer());
        recognizer.dispose();
        return r.probabilities;
      },
      [fixtures.trainedModel.url, fixtures.speech.url],
    );
    const inNode = await classify(fixtures.trainedModel.model, samples, sampleRate);
    for (const k of Object.keys(inNode.probabilities)) expect(Math.abs(direct[k] - inNode.probabilities[k])).toBeLessThan(PARITY_TOLERANCE);
    await page.selectOption('#gender', '');
  });

  it('keeps the model a WAV is being classified with until the file is done, when another is loaded meanwhile', async () => {
    const index = await hooks<number>('(app) => app.files.length');
    const file = await page.evaluate(
      async ([model, wav, index]) => {
        const [checkpoint, bytes] = await Promise.all([model, wav].map(async (url) => (await fetch(url)).arrayBuffer()));
        const files = new DataTransfer();
        files.items.add(new File([bytes], 'during-load.wav', { type: 'audio/wav' }));
        const input = document.getElementById('wav-input') as HTMLInputElement;
        input.files = files.files;
        input.dispatchEvent(new Event('change'));
        // From bytes, the new model replaces the old within microtasks, while the file is still being read.
        await window.serApp.loadModel(checkpoint);
        while (window.serApp.files.length === index) await new Promise((ok) => setTimeout(ok, 50));
        document.getElementById('file-results')!.firstElementChild!.remove(); // the screenshot shows the first two
        return window.serApp.files[index];
      },
      [fixtures.trainedModel.url, fixtures.speech.url, index] as const,
    );
    expect(file.error, tail(browser.log)).toBeUndefined();
    expect(file.result).toBeDefined();
    await hooks(`(app) => app.loadModel(${JSON.stringify(fixtures.trainedModel.url)})`);
  });

  it('works embedded in a host page from the browser bundle (dist/browser/index.js), as the README shows', async () => {
    const host = await browser.newPage(`${server.url}test/browser/embed.html?model=${fixtures.trainedModel.url}&wav=${fixtures.speech.url}&gender=m`);
    await host.waitForFunction('window.embedResult || window.embedError', undefined, { timeout: 120_000 });
    expect(await host.evaluate('window.embedError ?? null'), tail(browser.log)).toBeNull();
    const got = (await host.evaluate('window.embedResult')) as Awaited<ReturnType<typeof classify>>;
    const { samples, sampleRate } = decodeWav(fixtures.speech.bytes, fixtures.speech.path);
    const inNode = await classify(fixtures.trainedModel.model, samples, sampleRate, { gender: 'm' });
    for (const k of Object.keys(inNode.probabilities)) expect(Math.abs(got.probabilities[k] - inNode.probabilities[k])).toBeLessThan(PARITY_TOLERANCE);
    expect(got).toMatchObject({ gender: 'm', genderGiven: true });
    await host.close();
  });

  it('lowers the loss in a few training steps inside the page', async () => {
    // The tiny corpus is one batch, so successive losses are comparable (each step costs seconds on SwiftShader).
    const steps = 6;
    await page.selectOption('#train-corpus', 'tiny');
    await page.fill('#train-steps', String(steps));
    await page.click('#train');
    await waitFor(`(app) => !app.training.running && app.training.losses.length === ${steps} || !!app.training.error`, 300_000);
    const training = await hooks<{ losses: number[]; seconds: number; error: string | null }>('(app) => app.training');
    expect(training.error, tail(browser.log)).toBeNull();
    const { losses } = training;
    await recordMeasurement('chromium-training', { preset: 'compact', corpus: 'tiny', batch: 8, steps, seconds: training.seconds, losses });
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.95);
  }, 320_000);

  /** Records from the fake microphone for `seconds` and returns what the page saw. */
  async function record(seconds: number) {
    const longTasksBefore = await hooks<number>('(app) => app.longTasks.length');
    await page.click('#record');
    await waitFor('(app) => app.live.recording || !!app.live.error', 30_000);
    await page.waitForTimeout(seconds * 1000);
    await page.click('#stop');
    await waitFor('(app) => !app.live.recording', 60_000);
    const live = await hooks<{ results: { timestamp: number; smoothed: Record<string, number>; dropped: number }[]; stats: StreamStats; error: string | null }>('(app) => app.live');
    const longTasks = await hooks<number[]>(`(app) => app.longTasks.slice(${longTasksBefore})`);
    expect(live.error, tail(browser.log)).toBeNull();
    const { stats, results } = live;
    // Audio arrived at (about) real time; every hop got an inference or was counted as dropped.
    expect(stats.audioSeconds).toBeGreaterThan(seconds * 0.7);
    expect(stats.inferences + stats.dropped).toBe(stats.hops);
    expect(results.length).toBe(stats.inferences);
    for (let i = 1; i < results.length; i++) expect(results[i].timestamp).toBeGreaterThan(results[i - 1].timestamp);
    for (const r of results) expect(Object.values(r.smoothed).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    // One inference in flight at most: a result never waits behind a queue of older windows.
    expect(stats.meanLatencyMs).toBeLessThan(2 * stats.maxInferenceMs + 500);
    const summary = { recordedSeconds: seconds, ...stats, resultsPerAudioSecond: stats.inferences / stats.audioSeconds, mainThreadLongTasks: longTasks.length, longestMainThreadTaskMs: Math.max(0, ...longTasks) };
    return { stats, results, summary };
  }

  it('streams the default model from the (fake) microphone without piling up, and measures its real-time factor', async () => {
    await hooks(`(app) => app.loadModel(${JSON.stringify(fixtures.defaultModel.url)})`);
    const { results, summary } = await record(14);
    await recordMeasurement('chromium-streaming-default-model', summary);
    expect(results.length).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('streams live results several times a second from the (fake) microphone with a compact model', async () => {
    await hooks(`(app) => app.loadModel(${JSON.stringify(fixtures.trainedModel.url)})`);
    const seconds = 8;
    const { results, summary } = await record(seconds);
    await recordMeasurement('chromium-streaming-compact-model', summary);
    expect(results.length).toBeGreaterThanOrEqual(Math.floor(1.5 * (seconds - 1)));
  }, 120_000);

  it('writes a screenshot of the page for the test report', async () => {
    const path = join(RESULTS_DIR, 'demo-page.png');
    await page.screenshot({ path, fullPage: true });
    await recordMeasurement('screenshot', { path });
  });
});

describe.skipIf(!hasChromium)(titleNeeding(hasChromium, 'demo page without WebGPU', `no Chromium at ${CHROMIUM}`), () => {
  it('says plainly that the browser has no WebGPU, and offers the CPU reference', async () => {
    const server = await serveWeb(0);
    const browser = await launchChromium();
    try {
      // A browser without WebGPU: navigator.gpu is gone before the page's scripts run.
      await browser.context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
      const page = await browser.newPage(server.url);
      await page.waitForSelector('#no-webgpu:not([hidden])');
      expect(await page.textContent('#no-webgpu')).toContain('This browser has no WebGPU');
      expect(await page.textContent('#adapter')).toBe('no WebGPU');
      expect(await page.isVisible('#use-cpu')).toBe(true);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
