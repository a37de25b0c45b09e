// Files the browser tests serve to the page: checkpoints written in Node (one trained briefly with fit(), as
// `ser train` does, and an untrained default-preset model for timing) and WAVs made by the synthesiser. They
// live under test-results/ (git-ignored), which serveWeb serves only when given TEST_ROUTES.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import wavefile from 'wavefile';
import type { WebRoute } from '../../src/cli/web.js';
import { compactModelConfig, defaultModelConfig } from '../../src/model/config.js';
import { encodeModel } from '../../src/model/model-file.js';
import { SerModel } from '../../src/model/ser-model.js';
import { toExamples } from '../../src/train/dataset.js';
import { generateSyntheticCorpus, makeVoice, SYNTHETIC_CLASSES, synthesizeUtterance } from '../../src/train/synthetic.js';
import { DEFAULT_TRAIN_OPTIONS, fit } from '../../src/train/trainer.js';
import { RESULTS_DIR } from './measurements.js';

const { WaveFile } = wavefile;

export const FIXTURES_DIR = join(RESULTS_DIR, 'browser-fixtures');
/** The same folder as the page sees it. */
export const FIXTURES_URL = '/test-results/browser-fixtures';

/** What the browser tests serve beside the demo page: their own pages (embed.html, suite.html) and the fixtures. */
export const TEST_ROUTES: WebRoute[] = [
  { url: '/test/browser/', dir: 'test/browser', types: ['.html'] },
  { url: `${FIXTURES_URL}/`, dir: FIXTURES_DIR, types: ['.safetensors', '.wav'] },
];

/** 16-bit mono WAV bytes, peak-normalised to 90% of full scale. */
export function wavBytes(samples: Float32Array, sampleRate: number): Uint8Array {
  let peak = 0;
  for (const v of samples) peak = Math.max(peak, Math.abs(v));
  const gain = (0.9 * 32767) / (peak || 1);
  const wav = new WaveFile();
  wav.fromScratch(1, sampleRate, '16', Int16Array.from(samples, (v) => Math.round(v * gain)));
  return wav.toBuffer();
}

/** A compact model trained for one epoch on a tiny synthetic corpus: real, non-trivial weights. */
async function trainedCompactModel(): Promise<SerModel> {
  const corpus = generateSyntheticCorpus({ speakers: 2, utterancesPerEmotion: 2, seconds: 1.5, seed: 3 });
  const config = compactModelConfig(corpus.classes);
  const examples = toExamples(corpus.utterances, corpus.classes, config.windowSamples);
  const { model } = await fit(config, examples, { examples: [] }, { ...DEFAULT_TRAIN_OPTIONS, epochs: 1, batchSize: 8, seed: 3 });
  return model;
}

export interface Fixtures {
  /** A checkpoint trained in Node (compact preset). */
  trainedModel: { path: string; url: string; model: SerModel };
  /** An untrained default-preset checkpoint: its weights do not matter for timing. */
  defaultModel: { path: string; url: string };
  /** 2.5 s of synthetic happy speech at 22.05 kHz (so both sides resample). */
  speech: { path: string; url: string; bytes: Uint8Array };
  /** 12 s alternating emotions at 16 kHz, for the fake microphone. */
  microphone: { path: string };
}

export async function writeFixtures(): Promise<Fixtures> {
  await mkdir(FIXTURES_DIR, { recursive: true });
  const file = async (name: string, bytes: Uint8Array) => {
    const path = join(FIXTURES_DIR, name);
    await writeFile(path, bytes);
    return { path, url: `${FIXTURES_URL}/${name}` };
  };
  const model = await trainedCompactModel();
  const trainedModel = { ...(await file('trained-compact.safetensors', await encodeModel(model, {}, { corpus: 'synthetic (browser test)' }))), model };
  const untrained = new SerModel(defaultModelConfig(SYNTHETIC_CLASSES), 1);
  const defaultModel = await file('default-untrained.safetensors', await encodeModel(untrained));
  untrained.dispose();

  const voice = makeVoice(0, 21);
  const speechBytes = wavBytes(synthesizeUtterance(voice, 'happy', 5, 2.5, 22050), 22050);
  const speech = { ...(await file('speech-happy-22k.wav', speechBytes)), bytes: speechBytes };
  const parts = SYNTHETIC_CLASSES.map((emotion, i) => synthesizeUtterance(makeVoice(1, 21), emotion, 40 + i, 3, 16000));
  const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
  const microphone = await file('microphone-16k.wav', wavBytes(joined, 16000));
  return { trainedModel, defaultModel, speech, microphone };
}
