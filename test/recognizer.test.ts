// classify() on long and odd recordings: windows go through the network in bounded batches (a long recording
// never needs one huge batch, and the result does not depend on the batch size), input with no usable signal
// gets a warning (one NaN or infinite sample is no such input), absurd sample rates are refused; and `ser
// predict` as a user runs it on such files.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictionText } from '../src/cli/output.js';
import { init } from '../src/engine/context.js';
import type { Tensor } from '../src/engine/tensor.js';
import { compactModelConfig, defaultModelConfig, m5CompactModelConfig } from '../src/model/config.js';
import { encodeModel } from '../src/model/model-file.js';
import { CLASSIFY_BATCH_WINDOWS, classify, type Classification } from '../src/model/recognizer.js';
import { SerModel } from '../src/model/ser-model.js';
import { encodeWav16, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from '../src/audio/index.js';
import { SYNTHETIC_CLASSES, makeVoice, synthesizeUtterance } from '../src/train/synthetic.js';
import { cliForTests } from './cli.js';

let dir = '';
beforeAll(async () => {
  await init();
  dir = await mkdtemp(join(tmpdir(), 'ser-recognizer-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const speech = (seconds: number, seed = 11) => synthesizeUtterance(makeVoice(0, 7), 'angry', seed, seconds, 16000);

/** The batch sizes the model's forward pass is called with. */
function recordBatches(model: SerModel): number[] {
  const sizes: number[] = [];
  const forward = model.forward.bind(model);
  model.forward = (x: Tensor, g?: Tensor) => {
    sizes.push(x.shape[0]);
    return forward(x, g);
  };
  return sizes;
}

const maxDifference = (a: Classification, b: Classification) =>
  Math.max(
    ...Object.keys(a.probabilities).map((k) => Math.abs(a.probabilities[k] - b.probabilities[k])),
    Math.abs(a.genderProbabilities.f - b.genderProbabilities.f),
    Math.abs(a.genderProbabilities.m - b.genderProbabilities.m),
  );

describe('classify in bounded batches', () => {
  it('gives the one-batch result (within 1e-5) when the windows go through in batches of 2', async () => {
    const model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 3);
    const audio = speech(10.3); // 10 back-to-back windows of 1 s; the last 0.3 s is too short for one
    const sizes = recordBatches(model);
    const whole = await classify(model, audio, 16000, { batchWindows: 1000 });
    expect(sizes).toEqual([10]);
    sizes.length = 0;
    const batched = await classify(model, audio, 16000, { batchWindows: 2 });
    expect(sizes).toEqual([2, 2, 2, 2, 2]);
    expect(maxDifference(whole, batched)).toBeLessThan(1e-5);
    expect(batched.emotion).toBe(whole.emotion);
    sizes.length = 0;
    const uneven = await classify(model, audio, 16000, { batchWindows: 3, gender: 'm' });
    expect(sizes).toEqual([3, 3, 3, 1]);
    const unevenWhole = await classify(model, audio, 16000, { batchWindows: 1000, gender: 'm' });
    expect(maxDifference(uneven, unevenWhole)).toBeLessThan(1e-5);
    expect(uneven).toMatchObject({ gender: 'm', genderGiven: true });
    await expect(classify(model, audio, 16000, { batchWindows: 0 })).rejects.toThrow(RangeError);
    model.dispose();
  });

  it(`classifies 70 s on the default preset (past the old one-batch limit) in batches of ${CLASSIFY_BATCH_WINDOWS}`, async () => {
    const model = new SerModel(defaultModelConfig(SYNTHETIC_CLASSES), 3);
    const sizes = recordBatches(model);
    const r = await classify(model, speech(70), 16000);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(23); // 3-s windows back to back; the last 1 s is too short
    expect(Math.max(...sizes)).toBe(CLASSIFY_BATCH_WINDOWS);
    const total = Object.values(r.probabilities).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 5);
    expect(r.warning).toBeUndefined();
    model.dispose();
  });

  it('classifies a 10-minute recording (compact preset), never more than one batch of windows at a time', async () => {
    const model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 3);
    const minute = synthesizeUtterance(makeVoice(1, 7), 'sad', 5, 60, 16000);
    const audio = new Float32Array(minute.length * 10);
    for (let i = 0; i < 10; i++) audio.set(minute, i * minute.length);
    const sizes = recordBatches(model);
    const r = await classify(model, audio, 16000);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(600); // 600 s in back-to-back 1-s windows
    expect(Math.max(...sizes)).toBe(CLASSIFY_BATCH_WINDOWS);
    for (const p of Object.values(r.probabilities)) expect(Number.isFinite(p)).toBe(true);
    expect(r.warning).toBeUndefined();
    model.dispose();
  });
});

describe('classify on input with no usable signal', () => {
  let model: SerModel;
  beforeAll(() => {
    model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 3);
  });
  afterAll(() => model.dispose());

  it.each<[string, () => Float32Array, number, RegExp]>([
    ['silence', () => new Float32Array(16000), 16000, /silent, constant \(DC\) or not finite/],
    ['a DC offset', () => new Float32Array(16000).fill(0.3), 16000, /silent, constant \(DC\) or not finite/],
    ['all NaN', () => new Float32Array(16000).fill(NaN), 16000, /silent, constant \(DC\) or not finite/],
    ['one sample', () => new Float32Array([0.5]), 16000, /0\.0625\d* ms long \(under 100 ms\)/],
    ['50 ms of speech', () => speech(1).subarray(0, 800), 16000, /50\.0 ms long \(under 100 ms\)/],
  ])('%s: an answer with a warning', async (_, samples, rate, reason) => {
    const r = await classify(model, samples(), rate);
    expect(r.warning).toMatch(/^no usable signal: /);
    expect(r.warning).toMatch(reason);
    for (const p of Object.values(r.probabilities)) expect(Number.isFinite(p)).toBe(true);
    expect(predictionText('x.wav', r).split('\n')[1]).toBe(`x.wav: warning: ${r.warning}`);
  });

  it.each([NaN, Infinity])('speech with one %s sample is answered as if that sample were 0, without a warning', async (bad) => {
    const mended = speech(1.5);
    mended[5000] = 0;
    const poisoned = mended.slice();
    poisoned[5000] = bad;
    const r = await classify(model, poisoned, 16000);
    expect(r).not.toHaveProperty('warning');
    expect(maxDifference(r, await classify(model, mended, 16000))).toBeLessThan(1e-6);
  });

  it('ordinary speech has no warning, and its text is one line', async () => {
    const r = await classify(model, speech(1.5), 16000);
    expect(r).not.toHaveProperty('warning');
    expect(predictionText('x.wav', r)).not.toContain('\n');
  });

  it("refuses a gender other than 'f' or 'm' (a service passing ?gender=F on), rather than a zero gender input", async () => {
    // Untyped callers (a query parameter, JSON) can pass anything; the model's gender input would be all zeros.
    for (const gender of ['F', 'female', 'x']) {
      await expect(classify(model, speech(2.5), 16000, { gender: gender as 'f' })).rejects.toThrow(`classify: gender must be 'f' or 'm', got "${gender}"`);
    }
    const given = await classify(model, speech(2.5), 16000, { gender: 'f' });
    expect(given).toMatchObject({ gender: 'f', genderGiven: true });
    // An empty parameter (?gender=) is no gender: the head's guess, never '' as the gender used.
    const empty = await classify(model, speech(2.5), 16000, { gender: '' as 'f' });
    expect(empty.genderGiven).toBe(false);
    expect(['f', 'm']).toContain(empty.gender);
  });

  it('refuses samples that are not a Float32Array, rather than classifying WAV bytes or a string as audio', async () => {
    // A service that hands the request body (a Buffer of WAV bytes) to classify() instead of classifyWav() got an
    // answer: level normalisation makes any numbers look like a signal.
    const wavBytes = Buffer.from(encodeWav16(speech(1.5), 16000));
    const cases: [unknown, string][] = [
      [wavBytes, 'a Buffer'],
      [new Uint8Array(wavBytes), 'a Uint8Array'],
      [Int16Array.from(speech(1.5), (v) => v * 32767), 'an Int16Array'],
      [Array.from(speech(1.5)), 'an Array'],
      ['0.1,0.2,0.3', 'a string'],
      [null, 'null'],
      [undefined, 'undefined'],
      [{ length: 1e9 }, 'an Object'],
    ];
    for (const [samples, what] of cases) {
      await expect(classify(model, samples as Float32Array, 16000)).rejects.toThrow(
        new TypeError(`classify: samples must be a Float32Array of mono samples, not ${what} (WAV bytes go to classifyWav; Float32Array.from() converts an array of samples)`),
      );
    }
  });

  it('refuses sample rates outside the accepted range, saying the range', async () => {
    for (const rate of [0, 1, MIN_SAMPLE_RATE - 1, MAX_SAMPLE_RATE + 1, 2e9, NaN]) {
      await expect(classify(model, speech(0.5), rate)).rejects.toThrow(`(accepted: ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz)`);
    }
  });
});

describe('classify with a damaged model', () => {
  it('fails, rather than naming an emotion, when finite but huge weights make the probabilities NaN', async () => {
    // A checkpoint's weights need only be finite to load (a flipped exponent byte gives 3e38); the first class came
    // back as the emotion, with every probability NaN (null in a service's JSON).
    const damaged = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 3);
    const w = damaged.emotionHead.weight;
    w.backend.write(w.storage, new Float32Array(w.size).fill(3e38));
    await expect(classify(damaged, speech(1.5), 16000)).rejects.toThrow(/^classify: the model gave non-finite probabilities \(emotion NaN, NaN, NaN, NaN; gender [\d.e-]+, [\d.e-]+\): its weights overflow/);
    damaged.dispose();
  });
});

/** 16-bit mono WAV bytes whose header declares `rate` (the byte rate field wraps as a 32-bit field would). */
function wavWithRate(samples: Float32Array, rate: number): Uint8Array {
  const bytes = encodeWav16(samples, 16000);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(24, rate, true);
  view.setUint32(28, (rate * 2) >>> 0, true);
  return bytes;
}

// The CLI as a user runs it, built from this source (test/cli.ts).
describe('ser predict on odd files', () => {
  const cli = cliForTests();

  it('warns about silence in text and JSON, and names every refused file with its reason', async () => {
    const model = new SerModel(compactModelConfig(SYNTHETIC_CLASSES), 3);
    const modelPath = join(dir, 'model.safetensors');
    await writeFile(modelPath, await encodeModel(model));
    model.dispose();
    const good = join(dir, 'speech.wav');
    const silent = join(dir, 'silent.wav');
    const fast = join(dir, 'two-gigahertz.wav');
    const slow = join(dir, 'one-hertz.wav');
    await writeFile(good, encodeWav16(speech(1.5), 16000));
    await writeFile(silent, encodeWav16(new Float32Array(8000), 16000));
    await writeFile(fast, wavWithRate(speech(0.5), 2_000_000_000));
    await writeFile(slow, wavWithRate(speech(0.5), 1));
    const files = [good, silent, fast, slow, dir, ...(existsSync('/dev/zero') ? ['/dev/zero'] : [])];

    const json = await cli.run(['predict', ...files, '--model', modelPath, '--json']);
    expect(json.code).toBe(1);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.file)).toEqual([good, silent]);
    expect(lines[0]).not.toHaveProperty('warning');
    expect(lines[1].warning).toMatch(/^no usable signal: the input is silent/);
    const errors = json.stderr.trim().split('\n').filter((l) => !l.startsWith('Warning: ')); // Dawn's own notes
    expect(errors).toEqual([
      `${fast}: unsupported sample rate: 2000000000 Hz (accepted: 1000 to 768000 Hz)`,
      `${slow}: unsupported sample rate: 1 Hz (accepted: 1000 to 768000 Hz)`,
      `${dir}: not a regular file (a directory)`,
      ...(existsSync('/dev/zero') ? ['/dev/zero: not a regular file (a character device)'] : []),
    ]);

    // --same-speaker reads every file first; the answers still come one per file named, in their order.
    const same = await cli.run(['predict', '--same-speaker', good, silent, dir, good, '--model', modelPath, '--json']);
    expect(same.code).toBe(1);
    const sameLines = same.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(sameLines.map((l) => l.file)).toEqual([good, silent, good]);
    expect(sameLines[2]).toEqual(sameLines[0]);

    const text = await cli.run(['predict', good, silent, '--model', modelPath]);
    expect(text.code).toBe(0);
    const out = text.stdout.trim().split('\n');
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(new RegExp(`^${good}: \\w+ `));
    expect(out[1]).toMatch(new RegExp(`^${silent}: \\w+ `));
    expect(out[2]).toBe(`${silent}: warning: ${lines[1].warning}`);
  });
});

describe('ser predict --same-speaker', () => {
  const cli = cliForTests();

  it('says so when the model has no per-speaker normalisation, rather than ignoring the flag in silence', async () => {
    const model = new SerModel(m5CompactModelConfig(SYNTHETIC_CLASSES), 3);
    expect(model.config.speakerNormalization).toBeUndefined();
    const modelPath = join(dir, 'm5.safetensors');
    await writeFile(modelPath, await encodeModel(model));
    model.dispose();
    const wav = join(dir, 'same-speaker.wav');
    await writeFile(wav, encodeWav16(speech(1.2), 16000));
    const r = await cli.run(['predict', '--same-speaker', wav, '--model', modelPath, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`--same-speaker: ${modelPath} has no per-speaker normalisation; each file is classified on its own`);
    expect(JSON.parse(r.stdout.trim()).file).toBe(wav);
  });
});

describe('the shipped model', () => {
  it('loads by default (loadRecognizer with no source): the EMO-DB classes, and an answer for speech', async () => {
    const { loadRecognizer } = await import('../src/embed.js');
    const recognizer = await loadRecognizer();
    const wav = encodeWav16(synthesizeUtterance(makeVoice(0, 7), 'angry', 3, 2, 16000), 16000);
    const r = await recognizer.classifyWav(wav, { gender: 'f' });
    expect(Object.keys(r.probabilities).sort()).toEqual(['angry', 'boredom', 'disgust', 'fear', 'happy', 'neutral', 'sad']);
    expect(Object.values(r.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(r.warning).toBeUndefined();
    recognizer.dispose();
  });
});
