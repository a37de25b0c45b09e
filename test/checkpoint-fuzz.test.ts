// Fuzzing decodeModel with thousands of seeded mutations of a real training checkpoint (written by
// runExperiment for a small filter-bank model with FiLM, so every config field is present): the header length,
// bytes of the header and of the data, truncation and extension, and structured edits of the header JSON (dtype,
// shapes, offsets, entries, metadata) and of the model configuration's fields (numbers far out of range, wrong
// types, missing and unknown fields). Every mutation must either load a model whose configuration passes
// validation, or raise a plain Error whose message starts with the source's name: never a TypeError, RangeError
// or SyntaxError from deep inside, never a hang, never an allocation the file does not pay for. Seeded and
// bounded: the same cases every run, in well under a minute. Beside them, the same checkpoint with its header
// padded to the reader's limit loads, and 8 bytes past it is refused (from bytes, and from a file).

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, init } from '../src/engine/context.js';
import { seededRandom } from '../src/engine/random.js';
import { MAX_HEADER_BYTES } from '../src/io/safetensors.js';
import { readCheckpointFile } from '../src/io/safetensors-file.js';
import { defaultModelConfig, type ModelConfig } from '../src/model/config.js';
import { decodeModel } from '../src/model/model-file.js';
import { validateModelConfig } from '../src/model/validate-config.js';
import { runExperiment } from '../src/train/experiment.js';
import { generateSyntheticCorpus } from '../src/train/synthetic.js';
import { tinyExperiment } from './tiny-experiment.js';

const SOURCE = 'fuzz/fold1-film.safetensors';
const CASES = 10_000;
const SEED = 20261212;

// The default recipe's every field (its pooling, per-speaker normalisation, gender input), with FiLM, made small.
const config = (classes: string[]): ModelConfig => ({
  ...defaultModelConfig(classes),
  windowSamples: 4000,
  frontEnd: { filters: 6, kernel: 64, hop: 32, minHz: 60, maxHz: 7600 },
  blocks: [{ channels: 6, kernel: 3, stride: 1, pool: 2 }, { channels: 8, kernel: 3, stride: 2, pool: 1 }],
  hidden: 8,
  dropout: 0.1,
  fusion: 'film',
});

let dir = '';
let original: Uint8Array;
beforeAll(async () => {
  await init({ backend: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'ser-checkpoint-fuzz-'));
  const corpus = generateSyntheticCorpus({ speakers: 6, utterancesPerEmotion: 1, seconds: 0.5, seed: 9 });
  await runExperiment(tinyExperiment(corpus, config, dir, { conditions: ['film'] }));
  original = new Uint8Array(await readFile(join(dir, 'fold1-film.safetensors')));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const int = (random: Random, n: number) => Math.floor(random() * n);

/** Values that break assumptions: out-of-range numbers, wrong types, the names of valid choices elsewhere. */
const NASTY: unknown[] = [
  0, -1, 1, 2, 3, 1.5, -0.5, 7, 64, 4096, 4097, 65536, 1e6, 1e9, 2e9, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, -1e308,
  '', 'abc', '16000', null, true, false, [], {}, [1, 2], [[]], { channels: 1 }, 'stats', 'mean', 'film', 'concat', 'max',
];

function headerOf(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } | undefined {
  try {
    const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))), dataStart: 8 + length };
  } catch {
    return undefined;
  }
}

/** The file with a new header JSON (space-padded to 8 bytes, as the writer does) before the same data. */
function withHeader(bytes: Uint8Array, header: Record<string, unknown>, dataStart: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const length = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + length + (bytes.length - dataStart));
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  out.fill(0x20, 8, 8 + length);
  out.set(json, 8);
  out.set(bytes.subarray(dataStart), 8 + length);
  return out;
}

/** Every path to a leaf (or a whole array/object) of a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = prefix.length ? [prefix] : [];
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, Array.isArray(value) ? Number(k) : k]));
  }
  return out;
}

function setPath(root: unknown, path: (string | number)[], value: unknown, remove = false): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove) delete node[last];
  else node[last] = value;
}

/** One edit of the model configuration in the metadata. */
function mutateConfig(random: Random, header: Record<string, unknown>): void {
  const metadata = header.__metadata__ as Record<string, string>;
  const config = JSON.parse(metadata.config);
  const kind = int(random, 10);
  if (kind === 0) config[pick(random, ['attention', 'layers', '__proto__x'])] = pick(random, NASTY);
  else if (kind === 1) config.blocks = Array.from({ length: pick(random, [0, 65, 200]) }, () => ({ channels: 8, kernel: 3, stride: 1, pool: 1 }));
  else if (kind === 2) config.classes = pick(random, [[], ['a'], ['a', 'a'], ['a', ''], Array.from({ length: 65 }, (_, i) => `c${i}`), ['a', 'x'.repeat(101)], 'angry']);
  else {
    const all = paths(config);
    const path = pick(random, all);
    if (random() < 0.15) setPath(config, path, undefined, true);
    else setPath(config, path, pick(random, NASTY));
  }
  metadata.config = JSON.stringify(config);
}

/** One structured edit of the header: a tensor entry's dtype, shape or offsets, the entries, the metadata. */
function mutateHeader(random: Random, header: Record<string, unknown>): void {
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  const name = pick(random, names);
  const entry = header[name] as Record<string, unknown>;
  const metadata = header.__metadata__ as Record<string, string>;
  switch (int(random, 9)) {
    case 0:
      entry.dtype = pick(random, ['F16', 'F64', 'BF16', 'I32', 'f32', '', null, 4]);
      break;
    case 1: {
      const shape = [...(entry.shape as number[])];
      const kind = int(random, 4);
      if (kind === 0 && shape.length) shape[int(random, shape.length)] = pick(random, NASTY) as number;
      else if (kind === 1) shape.push(pick(random, [1, 2, 0]));
      else if (kind === 2) shape.pop();
      else shape.reverse();
      entry.shape = random() < 0.1 ? pick(random, NASTY) : shape;
      break;
    }
    case 2: {
      const offsets = [...(entry.data_offsets as number[])];
      if (random() < 0.2) entry.data_offsets = pick(random, NASTY);
      else {
        const i = int(random, 2);
        offsets[i] = pick(random, [offsets[i] + 4, offsets[i] - 4, offsets[i] * 2, 0, -4, 2 ** 53, 1.5, offsets[1 - i]]);
        entry.data_offsets = offsets;
      }
      break;
    }
    case 3:
      delete header[name];
      break;
    case 4:
      header[`${name}.copy`] = { ...entry };
      break;
    case 5:
      header[pick(random, ['emotion.weight', 'gender.bias', 'block0.conv.weight', 'x', ''])] = entry;
      delete header[name];
      break;
    case 6:
      header[name] = pick(random, NASTY);
      break;
    case 7: {
      const key = pick(random, ['format', 'config', 'classes', 'training', 'run']);
      if (random() < 0.3) delete metadata[key];
      else metadata[key] = pick(random, ['', '{', 'null', '[]', '{"epoch":"x"}', 'ser-webgpu/model-2', JSON.stringify({ ...JSON.parse(metadata.config ?? '{}'), hidden: 1e9 })]);
      break;
    }
    default:
      header.__metadata__ = pick(random, NASTY);
  }
}

/** A mutated copy of the checkpoint: one to three edits of the kinds above. */
function mutate(random: Random, source: Uint8Array): Uint8Array {
  let bytes: Uint8Array = source.slice();
  const edits = 1 + int(random, 3);
  for (let e = 0; e < edits; e++) {
    const parsed = headerOf(bytes);
    const kind = int(random, 10);
    if (kind <= 3 || kind === 9) {
      if (!parsed || !parsed.header || typeof parsed.header !== 'object') continue;
      try {
        if (kind <= 2) mutateConfig(random, parsed.header);
        else mutateHeader(random, parsed.header);
        bytes = withHeader(bytes, parsed.header, parsed.dataStart);
      } catch {
        // An earlier edit left the header too damaged for this one: skip it.
      }
    } else if (kind === 4) {
      const view = new DataView(bytes.buffer);
      const length = Number(view.getBigUint64(0, true));
      const value = pick(random, [0, 1, 7, 8, length - 1, length + 1, length + 8, bytes.length, bytes.length - 8, MAX_HEADER_BYTES + 8, 100_000_000, 100_000_001, 2 ** 32, 2 ** 53]);
      view.setBigUint64(0, random() < 0.1 ? 2n ** 64n - 1n : BigInt(Math.max(0, value)), true);
    } else if (kind === 5) {
      // Bytes of the header.
      const length = Math.min(Number(new DataView(bytes.buffer).getBigUint64(0, true)), bytes.length - 8);
      for (let i = 0, n = 1 + int(random, 4); i < n && length > 0; i++) bytes[8 + int(random, length)] = int(random, 256);
    } else if (kind === 6) {
      // Bytes anywhere, mostly the data section: NaN, Infinity and huge values in the weights.
      for (let i = 0, n = 1 + int(random, 8); i < n; i++) bytes[int(random, bytes.length)] = pick(random, [0xff, 0x7f, 0x80, 0x00, int(random, 256)]);
    } else if (kind === 7 && random() < 0.5) {
      // The lowest mantissa byte of a few weights: still finite, so the file should load.
      const parsed2 = headerOf(bytes);
      if (parsed2) for (let i = 0, n = 1 + int(random, 8); i < n; i++) {
        const at = parsed2.dataStart + 4 * int(random, (bytes.length - parsed2.dataStart) >> 2);
        if (at < bytes.length) bytes[at] = int(random, 256);
      }
    } else if (kind === 7) {
      bytes = bytes.slice(0, int(random, bytes.length));
    } else {
      const extra = Uint8Array.from({ length: 1 + int(random, 64) }, () => int(random, 256));
      const out = new Uint8Array(bytes.length + extra.length);
      out.set(bytes);
      out.set(extra, bytes.length);
      bytes = out;
    }
  }
  return bytes;
}

describe('checkpoint fuzz (decodeModel)', () => {
  it('loads the unmutated checkpoint', () => {
    const { model, extra, metadata } = decodeModel(original, SOURCE);
    expect(model.config).toEqual(config(model.config.classes));
    expect(Object.keys(extra).some((n) => n.startsWith('optimizer.m.'))).toBe(true);
    expect(JSON.parse(metadata.training).epoch).toBe(1);
    model.dispose();
  });

  it('the checkpoint with its header padded to MAX_HEADER_BYTES loads; 8 bytes more is refused, from bytes and from a file', async () => {
    const parsed = headerOf(original)!;
    const padded = (length: number) => {
      const out = new Uint8Array(8 + length + original.length - parsed.dataStart);
      new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
      out.fill(0x20, 8, 8 + length);
      out.set(original.subarray(8, parsed.dataStart), 8);
      out.set(original.subarray(parsed.dataStart), 8 + length);
      return out;
    };
    const { model } = decodeModel(padded(MAX_HEADER_BYTES), SOURCE);
    model.dispose();
    const over = padded(MAX_HEADER_BYTES + 8);
    const refusal = `header length ${MAX_HEADER_BYTES + 8} exceeds the ${MAX_HEADER_BYTES} bytes (8 MiB) this reader accepts`;
    expect(() => decodeModel(over, SOURCE)).toThrow(`${SOURCE}: ${refusal}`);
    const path = join(dir, 'over.safetensors');
    await writeFile(path, over);
    await expect(readCheckpointFile(path)).rejects.toThrow(`${path}: ${refusal}`);
  });

  it(`${CASES} seeded mutations each load a valid model or raise an Error naming the source`, () => {
    const random = seededRandom(SEED);
    const backend = engine().backend;
    const baseline = backend.counters().liveBuffers;
    // Bytes the backend allocates for each case, refused ones included (a model built and then disposed frees what
    // it took, so liveBuffers alone would not see a configuration's claim allocated before the file was checked).
    let allocated = 0;
    const { upload, zeros } = backend;
    backend.upload = (data, label) => {
      allocated += data.length * 4;
      return upload.call(backend, data, label);
    };
    backend.zeros = (length, label) => {
      allocated += length * 4;
      return zeros.call(backend, length, label);
    };
    const outcomes = new Map<string, number>();
    let loaded = 0;
    let slowest = 0;
    const started = performance.now();
    try {
      for (let i = 0; i < CASES; i++) {
        const bytes = mutate(random, original);
        allocated = 0;
        const t0 = performance.now();
        try {
          const { model } = decodeModel(bytes, SOURCE);
          // What loads is a model this version can run: its configuration within bounds.
          expect(() => validateModelConfig(JSON.parse(JSON.stringify(model.config)), 'loaded')).not.toThrow();
          const values = [...model.namedParameters(), ...model.namedBuffers()].reduce((s, [, t]) => s + t.size, 0);
          expect(values * 4).toBeLessThanOrEqual(bytes.length); // nothing allocated that the file does not pay for
          model.dispose();
          loaded++;
        } catch (e) {
          const error = e as Error;
          if (!(error instanceof Error) || error.constructor !== Error || !error.message.startsWith(`${SOURCE}: `)) {
            throw new Error(`case ${i}: ${error?.constructor?.name}: ${error?.message}\n${error?.stack}`);
          }
          // The kind of refusal, without the values: "config.blocks[0].channels must be", "tensor ... has dtype".
          const kind = error.message.slice(SOURCE.length + 2).replace(/"[^"]*"|\[[^\]]*\]|-?\d[\d.e+-]*/g, '#').slice(0, 40);
          outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
        }
        slowest = Math.max(slowest, performance.now() - t0);
        // Loaded or refused, nothing allocated that the file does not pay for.
        if (allocated > bytes.length) throw new Error(`case ${i}: ${allocated} bytes allocated for a file of ${bytes.length}`);
        // A refused file leaves nothing allocated behind it.
        expect(engine().backend.counters().liveBuffers).toBe(baseline);
      }
    } finally {
      backend.upload = upload;
      backend.zeros = zeros;
    }
    const seconds = (performance.now() - started) / 1000;
    // The mutations reach past the first check: many kinds of refusal, and some mutated files still load.
    expect(loaded).toBeGreaterThan(CASES * 0.02);
    expect(outcomes.size).toBeGreaterThan(25);
    expect(slowest).toBeLessThan(2000);
    expect(seconds).toBeLessThan(40);
    if (process.env.FUZZ_VERBOSE) console.log([...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}\t${k}`).join('\n'));
    console.log(`checkpoint fuzz: ${CASES} cases in ${seconds.toFixed(1)} s (slowest ${slowest.toFixed(0)} ms): ${loaded} loaded, ${CASES - loaded} refused in ${outcomes.size} ways`);
  }, 60_000);
});
