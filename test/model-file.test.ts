// Model checkpoints trust nothing they read: the configuration in the metadata is validated against bounds before
// anything is allocated (in `ser predict`, `ser eval`, resume, and the page's `?model=` through loadRecognizer),
// non-finite weights are refused, and every error names the file. The parameter count the bounds use is checked
// against the models the presets really build. A header past MAX_HEADER_BYTES is refused before it is parsed (from
// a file, before it is read), while the largest header this project writes and a PyTorch file of 10,000 tensors load.

import { mkdtemp, rm, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRecognizer } from '../src/embed.js';
import { engine, init } from '../src/engine/context.js';
import { compactModelConfig, m5CompactModelConfig, GENDER_DESIGNS, MODEL_PRESETS, withGenderDesign, type ModelConfig } from '../src/model/config.js';
import { decodeModel, encodeModel } from '../src/model/model-file.js';
import { SerModel } from '../src/model/ser-model.js';
import { CONFIG_LIMITS, modelParameterCount, validateModelConfig } from '../src/model/validate-config.js';
import { decodeSafetensors, encodeSafetensors, MAX_HEADER_BYTES } from '../src/io/safetensors.js';
import { readCheckpointFile } from '../src/io/safetensors-file.js';
import { readStart } from '../src/io/regular-file.js';

const CLASSES = ['angry', 'happy', 'sad', 'neutral'];
let dir = '';
let good: Uint8Array;
beforeAll(async () => {
  await init({ backend: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'ser-model-file-'));
  const model = new SerModel(m5CompactModelConfig(CLASSES), 2);
  good = await encodeModel(model, {}, { corpus: 'test' });
  model.dispose();
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The good checkpoint with its metadata.config replaced (a crafted file), and metadata.classes to match. */
function withConfig(config: unknown): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(good);
  const classes = (config as { classes?: unknown } | null)?.classes;
  return encodeSafetensors(tensors, { ...metadata, config: typeof config === 'string' ? config : JSON.stringify(config), ...(Array.isArray(classes) ? { classes: JSON.stringify(classes) } : {}) });
}

/** The good checkpoint with one tensor's values replaced. */
function withValues(name: string, value: number, index = 0): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(good);
  tensors[name].data[index] = value;
  return encodeSafetensors(tensors, metadata);
}

// The M5-style compact preset: its blocks start at the waveform (no filter bank), as these crafted cases assume.
const compact = m5CompactModelConfig(CLASSES);
const liveBuffers = () => engine().backend.counters().liveBuffers;

describe('model configurations', () => {
  it('every preset and gender design passes, and the parameter count is what the model builds', () => {
    for (const [preset, make] of Object.entries(MODEL_PRESETS)) {
      for (const design of GENDER_DESIGNS) {
        const config = withGenderDesign(make(CLASSES), design);
        if (design === 'film' && !config.frontEnd) {
          expect(() => validateModelConfig(config, preset)).toThrow(/config\.fusion "film" needs a frontEnd/);
          continue;
        }
        expect(validateModelConfig(config, preset)).toBe(config);
        const model = new SerModel(config);
        const actual = [...model.namedParameters(), ...model.namedBuffers()].reduce((s, [, t]) => s + t.size, 0);
        model.dispose();
        expect(modelParameterCount(config), `${preset}/${design}`).toBe(actual);
      }
    }
    for (const variant of [{ ...compact, hidden: 0 }, { ...compact, pooling: 'stats' as const }, { ...compact, pooling: 'attentive' as const }, { ...compact, useGender: false }]) {
      const model = new SerModel(variant);
      expect(modelParameterCount(validateModelConfig(variant))).toBe([...model.namedParameters(), ...model.namedBuffers()].reduce((s, [, t]) => s + t.size, 0));
      model.dispose();
    }
  });

  const crafted: [string, (c: ModelConfig) => unknown, RegExp][] = [
    ['windowSamples 1e9', (c) => ({ ...c, windowSamples: 1e9 }), /config\.windowSamples must be an integer from 1 to 9600000, got 1000000000/],
    ['2e9 channels', (c) => ({ ...c, blocks: [{ ...c.blocks[0], channels: 2e9 }, ...c.blocks.slice(1)] }), /config\.blocks\[0\]\.channels must be an integer from 1 to 4096, got 2000000000/],
    ['blocks "abc"', (c) => ({ ...c, blocks: 'abc' }), /config\.blocks must be an array of blocks, got "abc"/],
    ['no blocks', (c) => ({ ...c, blocks: [] }), /config\.blocks must hold 1 to 64 blocks, got 0/],
    ['a block that is not an object', (c) => ({ ...c, blocks: [null] }), /config\.blocks\[0\] must be an object, got null/],
    ['a fractional stride', (c) => ({ ...c, blocks: [{ ...c.blocks[0], stride: 1.5 }] }), /config\.blocks\[0\]\.stride must be an integer from 1 to 4096, got 1\.5/],
    ['kernel as a string', (c) => ({ ...c, blocks: [{ ...c.blocks[0], kernel: '80' }] }), /config\.blocks\[0\]\.kernel must be an integer from 1 to 4096, got "80"/],
    ['a huge filter bank', (c) => ({ ...c, frontEnd: { filters: 64, kernel: 1e6, hop: 160, minHz: 60, maxHz: 7600 } }), /config\.frontEnd\.kernel must be an integer from 3 to 4096, got 1000000/],
    ['filter bank maxHz past Nyquist', (c) => ({ ...c, frontEnd: { filters: 64, kernel: 400, hop: 160, minHz: 60, maxHz: 9000 } }), /config\.frontEnd\.maxHz must be a number from 0 to 8000, got 9000/],
    ['filter bank minHz above maxHz', (c) => ({ ...c, frontEnd: { filters: 64, kernel: 400, hop: 160, minHz: 5000, maxHz: 4000 } }), /config\.frontEnd\.maxHz \(4000\) must be above minHz \(5000\)/],
    ['filter bank field missing', (c) => ({ ...c, frontEnd: { filters: 64, kernel: 400, minHz: 60, maxHz: 7600 } }), /config\.frontEnd\.hop must be an integer from 1 to 4096, got undefined/],
    ['pooling "max"', (c) => ({ ...c, pooling: 'max' }), /config\.pooling must be "mean", "stats" or "attentive", got "max"/],
    ['fusion "sum"', (c) => ({ ...c, fusion: 'sum' }), /config\.fusion must be "concat" or "film", got "sum"/],
    ['film without a filter bank', (c) => ({ ...c, fusion: 'film' }), /config\.fusion "film" needs a frontEnd/],
    ['speakerNormalization "yes"', (c) => ({ ...c, speakerNormalization: 'yes' }), /config\.speakerNormalization must be true or false, got "yes"/],
    ['useGender 1', (c) => ({ ...c, useGender: 1 }), /config\.useGender must be true or false, got 1/],
    ['dropout 1', (c) => ({ ...c, dropout: 1 }), /config\.dropout must be below 1/],
    ['hidden -1', (c) => ({ ...c, hidden: -1 }), /config\.hidden must be an integer from 0 to 4096, got -1/],
    ['sample rate 1e12', (c) => ({ ...c, sampleRate: 1e12 }), /config\.sampleRate must be an integer from 1000 to 768000, got 1000000000000/],
    ['one class', (c) => ({ ...c, classes: ['angry'] }), /config\.classes must hold 2 to 64 names, got 1/],
    ['an empty class name', (c) => ({ ...c, classes: ['angry', ' '] }), /config\.classes\[1\] must be a non-empty name/],
    // `ser predict` prints the names: an escape sequence in one would drive the user's terminal.
    ['a class name with an escape sequence', (c) => ({ ...c, classes: ['angry', 'sad\u001b]0;pwned\u0007', 'happy', 'neutral'] }), /config\.classes\[1\] must be a non-empty name of at most 100 characters without control characters or spaces around it, got "sad\\u001b\]0;pwned\\u0007"/],
    ['a class name with a newline', (c) => ({ ...c, classes: ['angry\nsad', 'sad', 'happy', 'neutral'] }), /config\.classes\[0\] must be a non-empty name .* without control characters/],
    // 'angry' and 'angry ' print alike, yet would be two classes.
    ['a class name with a space around it', (c) => ({ ...c, classes: ['angry', 'sad', 'happy', 'angry '] }), /config\.classes\[3\] must be a non-empty name .* or spaces around it, got "angry "/],
    ['a class twice', (c) => ({ ...c, classes: ['angry', 'sad', 'angry'] }), /config\.classes lists "angry" twice/],
    ['classes not an array', (c) => ({ ...c, classes: 'angry,sad' }), /config\.classes must be an array of class names/],
    ['an unknown field', (c) => ({ ...c, attention: { heads: 8 } }), /config has unknown field\(s\) "attention"/],
    ['null', () => null, /config must be a JSON object, got null/],
    ['not JSON', () => '{"sampleRate": 16000', /metadata\.config is not valid JSON/],
    ['a window too short for the network', (c) => ({ ...c, windowSamples: 1 }), /config\.windowSamples 1 is too short for the network: block 0's convolution gets no frame/],
    ['activations past the limit', (c) => ({ ...c, windowSamples: 9_600_000 }), /block 0's convolution would hold 38400000 values per window, more than the limit of 16777216/],
    ['parameters past the limit', (c) => ({ ...c, blocks: [{ channels: 4096, kernel: 4096, stride: 4096, pool: 1 }, { channels: 4096, kernel: 4096, stride: 4096, pool: 1 }], windowSamples: 16_000_000 }), /config\.windowSamples must be an integer|config describes \d+ parameters, more than the limit of 100000000/],
    ['more weights than the file holds', (c) => ({ ...c, hidden: 4096 }), /config describes \d+ weights but the file holds only \d+ values/],
  ];

  it.each(crafted)('a crafted checkpoint (%s) is refused, naming the file, before anything is allocated', (_, craft, pattern) => {
    const before = liveBuffers();
    const started = performance.now();
    expect(() => decodeModel(withConfig(craft(compact)), 'crafted.safetensors')).toThrow(new RegExp(`^crafted\\.safetensors: .*${pattern.source}`));
    expect(liveBuffers()).toBe(before);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('attentive pooling saves and loads: its scoring layers come back with the configuration', async () => {
    const config: ModelConfig = { ...compactModelConfig(CLASSES), pooling: 'attentive' };
    const model = new SerModel(config, 6);
    const { model: loaded } = decodeModel(await encodeModel(model, {}, { corpus: 'test' }), 'attentive.safetensors');
    expect(loaded.config.pooling).toBe('attentive');
    const weights = new Map(loaded.namedParameters());
    for (const [name, p] of model.namedParameters()) expect(await weights.get(name)!.toArray(), name).toEqual(await p.toArray());
    expect(weights.has('attention.score.weight')).toBe(true);
    model.dispose();
    loaded.dispose();
  });

  it('the activation bound counts the input window itself (10 minutes at 48 kHz through a hop of 4096)', () => {
    // Every layer after the input is small, but a batch of 16 such windows is 460 M samples (1.8 GB of host
    // memory for classify(), past MAX_TENSOR_ELEMENTS): a batch of 16 windows of the limit is 2^28 exactly.
    const long = { ...compact, sampleRate: 48000, windowSamples: 28_800_000, frontEnd: { filters: 1, kernel: 4096, hop: 4096, minHz: 60, maxHz: 7600 } };
    expect(() => validateModelConfig(long, 'long')).toThrow(/^long: the input window would hold 28800000 values per window, more than the limit of 16777216 \(config\.windowSamples 28800000\)/);
    expect(validateModelConfig({ ...long, windowSamples: 2 ** 24 }, 'long')).toBeTruthy();
  });

  it('the parameter bound holds on its own (a valid shape past 100 M parameters)', () => {
    const big = { ...compact, windowSamples: 2000, blocks: [{ channels: 4096, kernel: 7, stride: 1, pool: 1 }, { channels: 4096, kernel: 7, stride: 1, pool: 1 }] };
    expect(() => validateModelConfig(big, 'big')).toThrow(/^big: config describes 117\d{6} parameters, more than the limit of 100000000/);
    expect(CONFIG_LIMITS.maxParameters).toBe(100_000_000);
  });
});

/** The good checkpoint with its header JSON edited; a string "@" in the edited header stands for `raw`, JSON text
 * (a value nested too deep for JSON.stringify to write). */
function withHeader(edit: (header: Record<string, Record<string, unknown>>) => void, raw = 'null'): Uint8Array {
  const length = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + length)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header).replace('"@"', () => raw));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + good.length - 8 - length).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.set(good.subarray(8 + length), 8 + padded);
  return out;
}

describe('header values nested deep or megabytes long', () => {
  // Each was a RangeError (the stack overflowed in JSON.stringify, writing the value into the message) rather than
  // an error naming the file, or an error message of megabytes.
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const long = 'x'.repeat(1_000_000);
  const config = (edit: (c: Record<string, unknown>) => void) => {
    const c = { ...compact } as Record<string, unknown>;
    edit(c);
    return JSON.stringify(c).replace('"@"', () => deep);
  };
  it.each<[string, () => Uint8Array, RegExp]>([
    ['a shape', () => withHeader((h) => (h['block0.conv.weight'].shape = '@'), deep), /tensor "block0\.conv\.weight" has an invalid shape \[\[\[/],
    ['a dtype', () => withHeader((h) => (h['block0.conv.weight'].dtype = '@'), deep), /tensor "block0\.conv\.weight" has dtype \[\[\[.*; only F32 is supported/],
    ['data_offsets', () => withHeader((h) => (h['block0.conv.weight'].data_offsets = '@'), deep), /tensor "block0\.conv\.weight" has invalid data_offsets \[\[\[/],
    ['a config field', () => withHeader((h) => (h.__metadata__.config = config((c) => (c.hidden = '@')))), /config\.hidden must be an integer from 0 to 4096, got \[\[\[/],
    ['a block', () => withHeader((h) => (h.__metadata__.config = config((c) => (c.blocks = ['@'])))), /config\.blocks\[0\] must be an object, got \[\[\[/],
    ['the whole config', () => withHeader((h) => (h.__metadata__.config = deep)), /config must be a JSON object, got \[\[\[/],
    ['metadata.classes', () => withHeader((h) => (h.__metadata__.classes = deep)), /metadata\.classes \[\[\[.* differ from config\.classes/],
    ['a tensor name', () => withHeader((h) => (h[long] = { ...h['block0.conv.weight'], dtype: 'F16' })), /tensor "xxxxx+\.\.\. has dtype "F16"/],
    ['a shape of a million dimensions', () => withHeader((h) => (h['block0.conv.weight'].shape = [...new Array(1_000_000).fill(1), -1])), /tensor "block0\.conv\.weight" has an invalid shape \[1,1,1,.*\.\.\.$/],
    ['a shape of a million dimensions that does not span its bytes', () => withHeader((h) => (h['block0.conv.weight'].shape = new Array(1_000_000).fill(1))), /tensor "block0\.conv\.weight" data_offsets \[\d+, \d+\] span \d+ bytes but shape \[1,1,1,.*\.\.\. needs 4$/],
    [
      "a shape of a million dimensions that holds the weight's values",
      () => withHeader((h) => (h['emotion.bias'].shape = [...new Array(1_000_000).fill(1), 4])),
      /loadStateDict: emotion\.bias has shape \[1,1,1,1,1,1,1,1,\.\.\. \(1000001 dimensions\)\] but the model expects \[4\]$/,
    ],
    ['a config field name', () => withHeader((h) => (h.__metadata__.config = JSON.stringify({ ...compact, [long]: 1 }))), /config has unknown field\(s\) "xxxxx+\.\.\. \(known: /],
    ['metadata.format', () => withHeader((h) => (h.__metadata__.format = long)), /not a ser-webgpu model checkpoint \(metadata\.format is "xxxxx+\.\.\.\)/],
  ])('%s: an Error naming the file, with a short message', (_, crafted, pattern) => {
    const before = liveBuffers();
    let error: unknown;
    try {
      decodeModel(crafted(), 'crafted.safetensors');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).constructor).toBe(Error);
    expect((error as Error).message).toMatch(new RegExp(`^crafted\\.safetensors: ${pattern.source}`));
    expect((error as Error).message.length).toBeLessThan(600);
    expect(liveBuffers()).toBe(before);
  });
});

describe('reading a checkpoint file', () => {
  it('reads a file of 2 GiB or more in parts (one read of that size ended the process)', async () => {
    // Node 20 aborted on a failed assertion, which no catch sees: `ser predict --model` of a 3 GiB file. A handle
    // that reports every read as complete stands for the file (the buffer, never written, costs no memory).
    const reads: number[] = [];
    const handle = {
      read: async (buffer: Uint8Array, offset: number, length: number) => {
        reads.push(length);
        return { bytesRead: length, buffer };
      },
    } as unknown as Pick<FileHandle, 'read'>;
    const bytes = await readStart(handle, 3 * 2 ** 30);
    expect(bytes.length).toBe(3 * 2 ** 30);
    expect(reads.reduce((a, b) => a + b, 0)).toBe(3 * 2 ** 30);
    expect(Math.max(...reads)).toBeLessThan(2 ** 31);
  });
});

/** A safetensors file: the 8-byte length (`declared`, or the header's own), the header's bytes and the data. */
function rawFile(header: string | Uint8Array, data: Uint8Array = new Uint8Array(), declared?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const KIB = 1024;

describe('header size', () => {
  it('a header of 99 MB (a shape of 49 M dimensions) is refused at once, naming the file and the size', () => {
    // It was parsed and checked first: 4 s and 1.4 GB of memory (6.6 s in decodeSafetensors alone), then refused
    // or, being valid, loaded.
    const length = 99_000_000;
    const header = new Uint8Array(length).fill(0x30); // '0'
    const open = new TextEncoder().encode('{"big":{"dtype":"F32","data_offsets":[0,0],"shape":[');
    header.set(open);
    for (let i = open.length + 1; i < length - 3; i += 2) header[i] = 0x2c; // ','
    header.set(new TextEncoder().encode(']}}'), length - 3);
    header[length - 4] = 0x30;
    const started = performance.now();
    expect(() => decodeModel(rawFile(header), 'big.safetensors')).toThrow(
      /^big\.safetensors: header length 99000000 exceeds the 8388608 bytes \(8 MiB\) this reader accepts/,
    );
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('a checkpoint file whose header is refused is not read past its first 8 bytes (the CLI\'s, and loadRecognizer\'s)', async () => {
    // A sparse 3 GiB file that declares a 99 MB header: it had been read whole before anything was checked.
    const path = join(dir, 'declares-99MB.safetensors');
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, 99_000_000n, true);
    await writeFile(path, head);
    await truncate(path, 3 * 2 ** 30);
    const started = performance.now();
    await expect(readCheckpointFile(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: header length 99000000 exceeds the 8388608 bytes`));
    expect(performance.now() - started).toBeLessThan(500);
    // loadRecognizer's path in Node too: it had read the 3 GiB before decoding refused them.
    const loading = performance.now();
    await expect(loadRecognizer(path, { backend: 'cpu' })).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: header length 99000000 exceeds the 8388608 bytes`));
    expect(performance.now() - loading).toBeLessThan(500);
  });

  it('the format’s own rules: a little-endian u64 length, at most the reference implementation’s 100 MB', () => {
    for (const declared of [2n ** 64n - 1n, 2n ** 63n, 100_000_001n]) {
      expect(() => decodeSafetensors(rawFile('{}', new Uint8Array(), declared), 'x.st')).toThrow(
        `x.st: header length ${declared} exceeds the safetensors format's limit of 100000000 bytes (not a safetensors file, or a damaged one)`,
      );
    }
    expect(() => decodeSafetensors(rawFile('{}', new Uint8Array(), 100_000_000n), 'x.st')).toThrow(/^x\.st: header length 100000000 exceeds the 2 bytes after the length field/);
    // A good file's length written big-endian reads as a length past the format's limit.
    const swapped = good.slice();
    swapped.subarray(0, 8).reverse();
    const asLittleEndian = new DataView(swapped.buffer).getBigUint64(0, true);
    expect(asLittleEndian).toBeGreaterThan(100_000_000n);
    expect(() => decodeModel(swapped, 'swapped.safetensors')).toThrow(`swapped.safetensors: header length ${asLittleEndian} exceeds the safetensors format's limit`);
  });

  it('a header of exactly MAX_HEADER_BYTES loads; one of 8 bytes more is refused, and is never written', () => {
    // The good checkpoint with a metadata value long enough to bring its header to the limit.
    const { tensors, metadata } = decodeSafetensors(good);
    const at = (padding: number) => encodeSafetensors(tensors, { ...metadata, padding: 'x'.repeat(padding) });
    // The header's JSON without the spaces that pad it to a multiple of 8.
    const unpadded = new TextDecoder().decode(at(0).subarray(8, 8 + Number(new DataView(at(0).buffer).getBigUint64(0, true)))).trimEnd().length;
    const exact = at(MAX_HEADER_BYTES - unpadded);
    expect(new DataView(exact.buffer).getBigUint64(0, true)).toBe(BigInt(MAX_HEADER_BYTES));
    const { model, metadata: read } = decodeModel(exact, 'exact.safetensors');
    expect(read.padding.length).toBe(MAX_HEADER_BYTES - unpadded);
    model.dispose();
    expect(() => at(MAX_HEADER_BYTES - unpadded + 1)).toThrow(
      /^safetensors: refusing to write a header of 8388616 bytes, past the 8388608 that decodeSafetensors reads \(\d+ tensors; the longest metadata value, "padding", has 8\d{6} characters\)$/,
    );
    // The same header with 8 more bytes of padding, written by hand.
    const length = Number(new DataView(exact.buffer).getBigUint64(0, true));
    const header = new Uint8Array(length + 8).fill(0x20);
    header.set(exact.subarray(8, 8 + length));
    const before = liveBuffers();
    expect(() => decodeModel(rawFile(header, exact.subarray(8 + length)), 'over.safetensors')).toThrow(
      'over.safetensors: header length 8388616 exceeds the 8388608 bytes (8 MiB) this reader accepts',
    );
    expect(liveBuffers()).toBe(before);
  });

  it('the largest header ser-webgpu writes fits several times over: 64 blocks, 64 long class names, a training checkpoint’s extras, 10,000 epochs of history', async () => {
    // Class names of 100 characters that JSON escapes twice (config, then the metadata string).
    const classes = Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(100, '"\\'));
    const config: ModelConfig = {
      ...withGenderDesign(compactModelConfig(classes), 'film'),
      frontEnd: { filters: 1, kernel: 3, hop: 1, minHz: 60, maxHz: 7600 },
      blocks: Array.from({ length: 64 }, () => ({ channels: 1, kernel: 1, stride: 1, pool: 1 })),
      hidden: 1,
      windowSamples: 100,
    };
    const model = new SerModel(config, 1);
    const weights = await model.stateDict();
    const parameters = model.namedParameters();
    // As saveTrainingCheckpoint writes them (src/train/experiment.ts).
    const extra: Record<string, { shape: number[]; data: Float32Array }> = {};
    parameters.forEach(([name], i) => {
      const n = weights[name].data.length;
      extra[`optimizer.m.${i}`] = { shape: [n], data: new Float32Array(n) };
      extra[`optimizer.v.${i}`] = { shape: [n], data: new Float32Array(n) };
    });
    for (const [name, t] of Object.entries(weights)) extra[`best.${name}`] = t;
    const epoch = { epoch: 10_000, trainLoss: 1.2345678901234567, validationLoss: 1.2345678901234567, validationUa: 0.5714285714285714, lr: 0.0009999999999999998, seconds: 1234.5678901234567 };
    const history = Array.from({ length: 10_000 }, () => epoch);
    const training = JSON.stringify({ epoch: 10_000, bestEpoch: 10_000, bestUa: 0.5, history, optimizerStep: 1e7, optimizerSteps: parameters.map(() => 1e7), moments: parameters.length });
    const bytes = await encodeModel(model, extra, { run: 'r'.repeat(36), training });
    model.dispose();
    const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(Object.keys(weights).length + Object.keys(extra).length).toBeGreaterThan(2000);
    expect(length).toBeGreaterThan(2000 * KIB);
    expect(length).toBeLessThan(MAX_HEADER_BYTES / 3);
    const loaded = decodeModel(bytes, 'largest.safetensors');
    expect(loaded.model.config.classes).toEqual(classes);
    expect(JSON.parse(loaded.metadata.training).history).toHaveLength(10_000);
    loaded.model.dispose();
  });

  it('a file as PyTorch’s safetensors writes it, of 10,000 tensors, loads', () => {
    // safetensors.torch.save_file: compact JSON, "__metadata__" {"format": "pt"}, the tensors in order of
    // alignment then name, the header padded with spaces to a multiple of 8. Names as in a 100-layer transformer.
    const parts = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj', 'input_layernorm', 'post_attention_layernorm', 'mlp.norm'];
    const names = Array.from({ length: 100 }, (_, layer) => parts.flatMap((p) => [`model.layers.${layer}.${p}.weight`, `model.layers.${layer}.${p}.bias`])).flat();
    names.push(...Array.from({ length: 10_000 - names.length }, (_, i) => `model.extra_${i}.weight`));
    names.sort();
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let offset = 0;
    names.forEach((name, i) => {
      const shape = [1 + (i % 3), 2];
      header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + shape[0] * shape[1] * 4] };
      offset += shape[0] * shape[1] * 4;
    });
    const json = JSON.stringify(header);
    const padded = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
    const { tensors, metadata } = decodeSafetensors(rawFile(padded, new Uint8Array(offset)), 'torch.safetensors');
    expect(Object.keys(tensors)).toHaveLength(10_000);
    expect(metadata).toEqual({ format: 'pt' });
    expect(padded.length).toBeGreaterThan(700 * KIB);
    expect(padded.length).toBeLessThan(MAX_HEADER_BYTES / 8);
  });
});

describe('weights', () => {
  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('a checkpoint holding %s is refused, naming the file and the tensor', (_, value) => {
    expect(() => decodeModel(withValues('block0.conv.weight', value, 5), 'runs/x/model.safetensors')).toThrow(
      new RegExp(`^runs/x/model\\.safetensors: tensor "block0\\.conv\\.weight" holds ${value} at index 5: weights must be finite`),
    );
  });

  it('a negative batch-norm variance is refused', () => {
    expect(() => decodeModel(withValues('block1.bn.running_var', -1), 'm.safetensors')).toThrow(/^m\.safetensors: tensor "block1\.bn\.running_var" holds a negative variance/);
  });

  it('encodeModel refuses to save non-finite weights', async () => {
    const model = new SerModel(compact);
    const w = model.blocks[0].conv.weight;
    w.backend.write(w.storage, new Float32Array(w.size).fill(NaN));
    await expect(encodeModel(model)).rejects.toThrow(/refusing to save a model whose tensor "block0\.conv\.weight" holds NaN at index 0/);
    model.dispose();
  });

  it("metadata.classes that disagrees with the configuration's classes is refused (PyTorch users read that one)", () => {
    const { tensors, metadata } = decodeSafetensors(good);
    const reordered = encodeSafetensors(tensors, { ...metadata, classes: JSON.stringify([...CLASSES].reverse()) });
    expect(() => decodeModel(reordered, 'swapped.safetensors')).toThrow(
      /^swapped\.safetensors: metadata\.classes \["neutral","sad","happy","angry"\] differ from config\.classes \["angry","happy","sad","neutral"\]/,
    );
    expect(() => decodeModel(encodeSafetensors(tensors, { ...metadata, classes: '["angry"' }), 'cut.safetensors')).toThrow(/^cut\.safetensors: metadata\.classes is not valid JSON/);
    // A file without it (written by hand, say) has only the configuration's, which is then the label set.
    const { classes: _, ...without } = metadata;
    const { model } = decodeModel(encodeSafetensors(tensors, without), 'no-classes.safetensors');
    expect(model.config.classes).toEqual(CLASSES);
    model.dispose();
  });

  it('the good checkpoint still loads', () => {
    const { model } = decodeModel(good, 'good');
    expect(model.config).toEqual(compact);
    model.dispose();
  });
});

describe('a configuration whose weights the device cannot hold', () => {
  it("is the file's error, and leaves no buffer of the layers built before the one refused", async () => {
    const gpu = await init();
    try {
      // Within CONFIG_LIMITS, but block 1's weight is 4096 × 4096 × 3 values (192 MiB): past lavapipe's (and a
      // browser's default) 128 MiB maxStorageBufferBindingSize, so the buffer pool refuses it after block 0's
      // weights are on the device. The file pays for every weight (a padding tensor), as a real one would.
      const wide = { ...compact, windowSamples: 1000, blocks: [{ channels: 4096, kernel: 1, stride: 1, pool: 1 }, { channels: 4096, kernel: 3, stride: 1, pool: 1 }] };
      const { tensors, metadata } = decodeSafetensors(good);
      const needed = modelParameterCount(validateModelConfig(wide));
      const bytes = encodeSafetensors({ ...tensors, padding: { shape: [needed], data: new Float32Array(needed) } }, { ...metadata, config: JSON.stringify(wide) });
      const before = liveBuffers();
      // On an adapter that holds 192 MiB in one binding the model is built, and then refused for the weights
      // the file lacks: the same error naming the file, and nothing left allocated either way.
      const tooLarge = gpu.runtime!.profile.limits.maxStorageBufferBindingSize < 4096 * 4096 * 3 * 4;
      expect(() => decodeModel(bytes, 'wide.safetensors')).toThrow(
        tooLarge ? /^wide\.safetensors: tensor: 201326592 bytes .* is more than this adapter's maxStorageBufferBindingSize/ : /^wide\.safetensors: loadStateDict: missing/,
      );
      expect(liveBuffers()).toBe(before);
    } finally {
      await init({ backend: 'cpu' });
    }
  });
});

describe('the embedding API (the page loads ?model= through loadRecognizer)', () => {
  it('refuses crafted bytes and files, naming them', async () => {
    const crafted = withConfig({ ...compact, windowSamples: 1e9 });
    await expect(loadRecognizer(crafted, { backend: 'cpu' })).rejects.toThrow(/^checkpoint: config\.windowSamples must be an integer/);
    const path = join(dir, 'crafted.safetensors');
    await writeFile(path, withConfig({ ...compact, blocks: 'abc' }));
    await expect(loadRecognizer(path, { backend: 'cpu' })).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: config\\.blocks must be an array`));
    const nan = join(dir, 'nan.safetensors');
    await writeFile(nan, withValues('emotion.weight', NaN));
    await expect(loadRecognizer(nan, { backend: 'cpu' })).rejects.toThrow(/nan\.safetensors: tensor "emotion\.weight" holds NaN/);
  });

  it('names the checkpoint when it cannot be read or fetched (a directory, a device; a refused connection)', async () => {
    // Node's own messages were "EISDIR: illegal operation on a directory, read" and "fetch failed", and /dev/zero
    // was read until memory ran out.
    await expect(loadRecognizer(dir, { backend: 'cpu' })).rejects.toThrow(`${dir}: cannot load the checkpoint (not a regular file (a directory))`);
    await expect(loadRecognizer('/dev/zero', { backend: 'cpu' })).rejects.toThrow('/dev/zero: cannot load the checkpoint (not a regular file (a character device))');
    await expect(loadRecognizer(`file://${dir}`, { backend: 'cpu' })).rejects.toThrow(`file://${dir}: cannot load the checkpoint (not a regular file (a directory))`);
    const url = 'http://127.0.0.1:1/model.safetensors';
    await expect(loadRecognizer(url, { backend: 'cpu' })).rejects.toThrow(`${url}: cannot load the checkpoint (fetch failed)`);
  });
});
