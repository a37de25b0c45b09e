// The demo page in real headless Chromium under input and clicks it did not plan for: loads that finish out
// of order, files and clicks at the wrong size or time, failures halfway. Its fixtures are light (an untrained
// compact model, written on the CPU reference), so it runs in seconds beside test/browser/demo.test.ts.

import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWeb } from '../../src/cli/web.js';
import { init } from '../../src/engine/context.js';
import { compactModelConfig } from '../../src/model/config.js';
import { encodeModel } from '../../src/model/model-file.js';
import { SerModel } from '../../src/model/ser-model.js';
import { makeVoice, SYNTHETIC_CLASSES, synthesizeUtterance } from '../../src/train/synthetic.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { CHROMIUM, fakeMicrophoneArgs, hasChromium, launchChromium, tail, type Browser } from './chromium.js';
import { FIXTURES_DIR, FIXTURES_URL, TEST_ROUTES, wavBytes } from './fixtures.js';
import { titleNeeding } from '../skip.js';

const MODEL = 'input-compact-untrained.safetensors';
const WAV = 'input-speech-16k.wav';
const modelUrl = `${FIXTURES_URL}/${MODEL}`;
const wavUrl = `${FIXTURES_URL}/${WAV}`;

let server: Awaited<ReturnType<typeof serveWeb>>;
let browser: Browser;
let page: Page;

describe.skipIf(!hasChromium)(titleNeeding(hasChromium, 'demo page under odd input and clicks', `no Chromium at ${CHROMIUM}`), () => {
  beforeAll(async () => {
    await init({ backend: 'cpu' });
    await mkdir(FIXTURES_DIR, { recursive: true });
    const model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 1);
    await writeFile(join(FIXTURES_DIR, MODEL), await encodeModel(model));
    model.dispose();
    const wav = join(FIXTURES_DIR, WAV);
    await writeFile(wav, wavBytes(synthesizeUtterance(makeVoice(0, 21), 'angry', 5, 3, 16000), 16000));
    server = await serveWeb(0, { routes: TEST_ROUTES });
    browser = await launchChromium(fakeMicrophoneArgs(wav));
    page = await browser.newPage(`${server.url}?model=${modelUrl}`);
    await page.waitForFunction('window.serApp && window.serApp.ready', undefined, { timeout: 120_000, polling: 100 });
    expect(await page.evaluate('window.serApp.error'), tail(browser.log)).toBeNull();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('keeps the model chosen last when a load started before it finishes after it', async () => {
    const status = await page.evaluate(async (url) => {
      const bytes = await (await fetch(url)).arrayBuffer();
      const first = window.serApp.loadModel(url); // fetched again: it finishes after the bytes below
      const second = window.serApp.loadModel(bytes);
      await Promise.all([first, second]);
      return document.getElementById('model-status')!.textContent;
    }, modelUrl);
    expect(status, tail(browser.log)).toMatch(/^checkpoint: /);
  });

  it('refuses a WAV file over the size limit without reading it', async () => {
    const entry = await page.evaluate(async (url) => {
      const index = window.serApp.files.length;
      const file = new File([await (await fetch(url)).arrayBuffer()], 'huge.wav', { type: 'audio/wav' });
      // Too large to make in a test: the size is what the panel must look at before it reads a byte.
      Object.defineProperty(file, 'size', { value: 600 * 2 ** 20 });
      let read = false;
      file.arrayBuffer = () => ((read = true), Blob.prototype.arrayBuffer.call(file));
      const drop = new Event('drop', { cancelable: true });
      Object.defineProperty(drop, 'dataTransfer', { value: { files: [file] } });
      document.getElementById('drop-zone')!.dispatchEvent(drop);
      while (window.serApp.files.length === index) await new Promise((ok) => setTimeout(ok, 50));
      return { ...window.serApp.files[index], read };
    }, wavUrl);
    expect(entry.error, tail(browser.log)).toMatch(/too large: 629145600 bytes \(the limit is 536870912 bytes, 512 MiB\)/);
    expect(entry.read).toBe(false);
  });

  it('offers no model when training is stopped before its first step', async () => {
    const after = await page.evaluate(async () => {
      (document.getElementById('train-corpus') as HTMLSelectElement).value = 'tiny';
      document.getElementById('train')!.click();
      document.getElementById('train-stop')!.click();
      while (window.serApp.training.running) await new Promise((ok) => setTimeout(ok, 50));
      return {
        status: document.getElementById('train-status')!.textContent!,
        useDisabled: (document.getElementById('train-use') as HTMLButtonElement).disabled,
        downloadHidden: document.getElementById('train-download')!.hidden,
        trainDisabled: (document.getElementById('train') as HTMLButtonElement).disabled,
        steps: window.serApp.training.losses.length,
      };
    });
    expect(after.steps).toBe(0);
    expect(after.status).toMatch(/stopped before the first step/);
    expect(after.status).not.toContain('undefined');
    expect(after).toMatchObject({ useDisabled: true, downloadHidden: true, trainDisabled: false });
  });

  it('stops recording, releases the microphone and says why when an inference fails', async () => {
    const live = await page.evaluate(async () => {
      const { Recognizer } = window.serApp.embed;
      const classify = Recognizer.prototype.classify;
      const getUserMedia = navigator.mediaDevices.getUserMedia;
      const streams: MediaStream[] = [];
      navigator.mediaDevices.getUserMedia = async (constraints) => {
        const stream = await getUserMedia.call(navigator.mediaDevices, constraints);
        streams.push(stream);
        return stream;
      };
      Recognizer.prototype.classify = () => Promise.reject(new Error('the device was lost (test)'));
      try {
        document.getElementById('record')!.click();
        const until = performance.now() + 30_000;
        while (!window.serApp.live.error && performance.now() < until) await new Promise((ok) => setTimeout(ok, 50));
        await new Promise((ok) => setTimeout(ok, 1000)); // what the page does after the error
        return {
          error: window.serApp.live.error,
          recording: window.serApp.live.recording,
          recordDisabled: (document.getElementById('record') as HTMLButtonElement).disabled,
          stopDisabled: (document.getElementById('stop') as HTMLButtonElement).disabled,
          stats: document.getElementById('live-stats')!.textContent!,
          microphoneOn: streams.some((s) => s.getTracks().some((t) => t.readyState === 'live')),
        };
      } finally {
        Recognizer.prototype.classify = classify;
        navigator.mediaDevices.getUserMedia = getUserMedia;
      }
    });
    expect(live.error, tail(browser.log)).toContain('the device was lost (test)');
    expect(live).toMatchObject({ recording: false, recordDisabled: false, stopDisabled: true, microphoneOn: false });
    expect(live.stats).toContain('the device was lost (test)');
  });

  it('keeps the adapter shown when the ?model= checkpoint cannot be loaded', async () => {
    const other = await browser.newPage(`${server.url}?model=${FIXTURES_URL}/missing.safetensors`);
    try {
      await other.waitForFunction('window.serApp && window.serApp.ready', undefined, { timeout: 60_000, polling: 100 });
      expect(await other.textContent('#adapter'), tail(browser.log)).toMatch(/^WebGPU: /);
      expect(await other.textContent('#model-status')).toContain('could not load');
      expect(await other.evaluate('window.serApp.error')).toContain('missing.safetensors');
    } finally {
      await other.close();
    }
  });
});
