// The embedding API in Node (the same module the page uses): loading a checkpoint from a path and from bytes
// gives the model's own probabilities; streaming an async iterable schedules one inference per hop, coalesces
// and counts the hops it cannot serve, and smooths; audio at another rate reaches the model as the file path's resampler gives it. Also
// measures the default model's real-time factor on the Node adapter (lavapipe).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../src/engine/context.js';
import { resample } from '../../src/audio/resample.js';
import { createRecognizer, loadRecognizer, type StreamResult } from '../../src/embed.js';
import { compactModelConfig, defaultModelConfig } from '../../src/model/config.js';
import { encodeModel } from '../../src/model/model-file.js';
import { classify } from '../../src/model/recognizer.js';
import { SerModel } from '../../src/model/ser-model.js';
import { SYNTHETIC_CLASSES, makeVoice, synthesizeUtterance } from '../../src/train/synthetic.js';
import { recordMeasurement } from './measurements.js';

let dir: string;
beforeAll(async () => {
  await init();
  dir = await mkdtemp(join(tmpdir(), 'ser-embed-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const speech = (seconds: number, emotion = 'angry') => synthesizeUtterance(makeVoice(0, 7), emotion, 11, seconds, 16000);

/** Chunks of `size` samples at real-time pace, as a live source delivers them. */
async function* liveChunks(samples: Float32Array, size: number, sampleRate = 16000): AsyncGenerator<Float32Array> {
  const started = performance.now();
  for (let i = 0; i < samples.length; i += size) {
    const due = started + ((i + size) / sampleRate) * 1000;
    await new Promise((ok) => setTimeout(ok, Math.max(0, due - performance.now())));
    yield samples.slice(i, i + size);
  }
}

/** Chunks of `size` samples, as a live source or a file reader would yield them. */
async function* chunks(samples: Float32Array, size: number): AsyncGenerator<Float32Array> {
  for (let i = 0; i < samples.length; i += size) yield samples.slice(i, i + size);
}

describe('embedding API in Node', () => {
  it('loads a checkpoint from a path and from bytes, and classifies as the model does', async () => {
    const model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 5);
    const bytes = await encodeModel(model);
    const path = join(dir, 'model.safetensors');
    await writeFile(path, bytes);
    const audio = speech(2.5);
    const expected = await classify(model, audio, 16000);
    for (const source of [path, bytes, bytes.slice().buffer as ArrayBuffer]) {
      const recognizer = await loadRecognizer(source);
      const got = await recognizer.classify(audio, 16000);
      for (const k of SYNTHETIC_CLASSES) expect(Math.abs(got.probabilities[k] - expected.probabilities[k])).toBeLessThan(1e-6);
      expect(got.genderGiven).toBe(false);
      expect(['f', 'm']).toContain(got.gender);
      const given = await recognizer.classify(audio, 16000, { gender: 'm' });
      expect(given).toMatchObject({ gender: 'm', genderGiven: true });
      recognizer.dispose();
    }
    model.dispose();
  });

  it('streams with backpressure: one result per hop, nothing dropped, smoothing between windows', async () => {
    const recognizer = createRecognizer(new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 6).eval());
    const results: StreamResult[] = [];
    const audio = speech(3);
    const handle = await recognizer.stream(chunks(audio, 1000), (r) => results.push(r), { hopMs: 250, backpressure: true });
    await handle.finished;
    // Results start at half a window (0.5 s), then every 0.25 s up to 3 s: 0.5, 0.75, ..., 3.0.
    expect(results.map((r) => r.timestamp)).toEqual([0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3]);
    expect(handle.stats()).toMatchObject({ hops: 11, inferences: 11, dropped: 0 });
    for (const r of results) {
      const sum = Object.values(r.smoothed).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    expect(results[0].smoothed).toEqual(results[0].probabilities);
    // Later windows move the smoothed values only part of the way towards the newest window.
    const k = SYNTHETIC_CLASSES[0];
    const [prev, cur] = [results[5], results[6]];
    const alpha = 1 - Math.exp(-0.25);
    expect(cur.smoothed[k]).toBeCloseTo(prev.smoothed[k] + alpha * (cur.probabilities[k] - prev.smoothed[k]), 6);
    recognizer.dispose();
  });

  it('streams a source faster than the device without piling up: hops are coalesced and counted as dropped', async () => {
    const recognizer = createRecognizer(new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 6).eval());
    const results: StreamResult[] = [];
    // 6 s delivered at once: far faster than any inference, so most hops find one running.
    const handle = await recognizer.stream(chunks(speech(6), 4000), (r) => results.push(r), { hopMs: 250 });
    await handle.finished;
    const stats = handle.stats();
    expect(stats.hops).toBe(23);
    expect(stats.inferences).toBe(results.length);
    expect(stats.inferences + stats.dropped).toBe(stats.hops);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(results.at(-1)!.dropped).toBe(stats.dropped);
    // The last inference read the newest audio.
    expect(results.at(-1)!.timestamp).toBe(6);
    recognizer.dispose();
  });

  it('streams 44.1 kHz audio as training reads it: every result is classify() of the file path\'s window', async () => {
    // The stream resamples chunk by chunk (src/audio/resample.ts); the file path resamples the whole signal.
    // Each result must be the model's answer to the newest window of the file path's output at that time.
    const model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 5).eval();
    const recognizer = createRecognizer(model);
    const { windowSamples, sampleRate } = model.config;
    const at44k = resample(speech(2.5), sampleRate, 44100);
    const results: StreamResult[] = [];
    const handle = await recognizer.stream(chunks(at44k, 777), (r) => results.push(r), { sampleRate: 44100, backpressure: true });
    await handle.finished;
    const whole = resample(at44k, 44100, sampleRate);
    expect(results.length).toBeGreaterThan(4);
    expect(handle.stats().audioSeconds * sampleRate).toBe(whole.length); // flushed at the end: nothing lost
    for (const r of results) {
      const end = Math.round(r.timestamp * sampleRate);
      const expected = await classify(model, whole.slice(Math.max(0, end - windowSamples), end), sampleRate);
      for (const k of SYNTHETIC_CLASSES) expect(Math.abs(r.probabilities[k] - expected.probabilities[k]), `${k} at ${r.timestamp}s`).toBeLessThan(1e-6);
    }
    recognizer.dispose();
  });

  it('streams the default model at real-time pace on the Node adapter without falling behind (measured)', async () => {
    const recognizer = createRecognizer(new SerModel(defaultModelConfig(SYNTHETIC_CLASSES), 1).eval());
    await recognizer.classify(speech(3), 16000); // pipelines compile on first use
    const seconds = 8;
    const results: StreamResult[] = [];
    const handle = await recognizer.stream(liveChunks(speech(seconds), 1024), (r) => results.push(r), { hopMs: 250 });
    await handle.finished;
    const stats = handle.stats();
    await recordMeasurement('node-streaming-default-model', { adapter: 'dawn.node (lavapipe)', recordedSeconds: seconds, ...stats, resultsPerAudioSecond: stats.inferences / seconds });
    expect(stats.inferences + stats.dropped).toBe(stats.hops);
    expect(stats.realTimeFactor).toBeLessThan(1);
    // Not falling behind: the last result reads audio from the final hop's neighbourhood.
    expect(results.at(-1)!.timestamp).toBeGreaterThan(seconds - 2 * stats.maxInferenceMs / 1000 - 0.25);
    recognizer.dispose();
  }, 60_000);

  it('measures the default model on the Node adapter (real-time factor of one streaming inference)', async () => {
    const recognizer = createRecognizer(new SerModel(defaultModelConfig(SYNTHETIC_CLASSES), 1).eval());
    const window = speech(3);
    await recognizer.classify(window, 16000); // pipelines compile on first use
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await recognizer.classify(window, 16000);
      times.push(performance.now() - t0);
    }
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const rtf = mean / 3000;
    await recordMeasurement('node-default-model', { adapter: 'dawn.node', windowSeconds: 3, meanInferenceMs: mean, realTimeFactor: rtf, hopMs: 250, keepsUpAtHop: mean < 250 });
    expect(rtf).toBeLessThan(1);
    recognizer.dispose();
  });
});
