// Fuzzing the WAV path: seeded mutations of real headers and chunk tables (chunk sizes, format codes, channel
// counts, bits per sample, sample rates, truncations, extra and duplicated chunks, damaged magic, garbage
// bytes) of small generated WAVs, and of the first bytes of a real EMO-DB file when the corpus is present, all
// through decode -> resample -> windows. Every case must either decode to finite samples of a bounded length
// or raise an AudioError that names the file: never another kind of error, a hang, or an allocation that the
// header's numbers rather than the file's length decide.
import { existsSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/engine/random.js';
import { AudioError, decodeAudio, decodeWav, fixedWindows, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, windowStarts } from '../src/audio/index.js';
import { ascii, fmtBody, riff } from './wav-builders.js';

const TARGET_RATE = 16000;
const WINDOW = 16000; // the compact preset's 1-s windows
const HOP = WINDOW / 2;

type Random = () => number;
const int = (random: Random, n: number) => Math.floor(random() * n);
const pick = <T>(random: Random, xs: readonly T[]): T => xs[int(random, xs.length)];

// ------------------------------------------------------------------------------------------ building files

/** Sample bytes of a tone (plus noise) in the given format, interleaved. */
function sampleBytes(random: Random, float: boolean, bits: number, channels: number, frames: number): Uint8Array {
  const out = new Uint8Array((frames * channels * bits) / 8);
  const v = new DataView(out.buffer);
  const full = 2 ** (bits - 1) - 1;
  for (let i = 0, at = 0; i < frames * channels; i++, at += bits / 8) {
    const x = 0.6 * Math.sin(i / 5) + 0.2 * (random() - 0.5);
    if (float && bits === 32) v.setFloat32(at, x, true);
    else if (float) v.setFloat64(at, x, true);
    else if (bits === 8) v.setUint8(at, Math.round(x * 127) + 128);
    else if (bits === 16) v.setInt16(at, Math.round(x * full), true);
    else if (bits === 24) {
      const c = Math.round(x * full);
      v.setUint16(at, c & 0xffff, true);
      v.setInt8(at + 2, c >> 16);
    } else v.setInt32(at, Math.round(x * full), true);
  }
  return out;
}

const FORMATS = [
  { format: 1, bits: 8 },
  { format: 1, bits: 16 },
  { format: 1, bits: 24 },
  { format: 1, bits: 32 },
  { format: 3, bits: 32 },
  { format: 3, bits: 64 },
] as const;

/** A small valid WAV: any supported format, 1-3 channels, a common rate, sometimes extensible, sometimes with
 * extra chunks (odd-sized LIST, PAD, fact) before, between or after fmt and data. */
function generatedWav(random: Random): Uint8Array {
  const { format, bits } = pick(random, FORMATS);
  const channels = 1 + int(random, 3);
  const rate = pick(random, [8000, 11025, 16000, 22050, 44100, 48000, 96000]);
  const frames = 1 + int(random, 400);
  const extensible = random() < 0.2;
  const fmt = { id: 'fmt ', body: extensible ? fmtBody(0xfffe, channels, rate, bits, format) : fmtBody(format, channels, rate, bits) };
  const data = { id: 'data', body: sampleBytes(random, format === 3, bits, channels, frames) };
  const extras = () => (random() < 0.3 ? [{ id: pick(random, ['LIST', 'PAD ', 'fact', 'junk']), body: new Uint8Array(int(random, 40)).map(() => int(random, 256)) }] : []);
  return riff([...extras(), fmt, ...extras(), data, ...extras()]);
}

// ------------------------------------------------------------------------------------------ mutations

interface ChunkHeader {
  id: string;
  at: number; // offset of the chunk's 8-byte header
  size: number;
}

/** The chunk table as laid out (walking sizes while they stay inside the file). */
function chunkTable(bytes: Uint8Array): ChunkHeader[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table: ChunkHeader[] = [];
  for (let at = 12; at + 8 <= bytes.length; ) {
    const size = view.getUint32(at + 4, true);
    table.push({ id: String.fromCharCode(...bytes.subarray(at, at + 4)), at, size });
    at += 8 + size + (size & 1);
  }
  return table;
}

const U32_EDGES = [0, 1, 2, 3, 7, 8, 15, 16, 17, 39, 40, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const RATE_EDGES = [0, 1, 2, 999, 1000, 1001, 8000, 44100, 767_999, 768_000, 768_001, 1_000_000_000, 1_000_000_001, 2 ** 31, 2 ** 32 - 1];
const FORMAT_CODES = [0, 1, 2, 3, 6, 7, 0x11, 0x55, 0xfffe, 0xffff];
const CHANNELS = [0, 1, 2, 3, 6, 8, 255, 256, 4097, 9000, 65535];
const BITS = [0, 1, 4, 7, 8, 9, 12, 16, 20, 24, 31, 32, 33, 48, 64, 65, 128, 65535];

type Mutation = (bytes: Uint8Array, random: Random) => [Uint8Array, string];

const setU32 = (b: Uint8Array, at: number, v: number) => at + 4 <= b.length && new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
const setU16 = (b: Uint8Array, at: number, v: number) => at + 2 <= b.length && new DataView(b.buffer, b.byteOffset).setUint16(at, v & 0xffff, true);

function fmtAt(bytes: Uint8Array): number | undefined {
  const fmt = chunkTable(bytes).find((c) => c.id === 'fmt ');
  return fmt && fmt.at + 8;
}

const u32 = (random: Random, actual?: number) => {
  const r = random();
  if (r < 0.5) return pick(random, U32_EDGES);
  if (r < 0.8 && actual !== undefined) return actual + int(random, 9) - 4;
  return int(random, 2 ** 32);
};

/** Sets a field of the fmt chunk (when there is one) to a typical value 70 % of the time, else to any in [0, range). */
const fmtField =
  (name: string, offset: number, set: typeof setU16, typical: number[], range: number, hex = false): Mutation =>
  (b, random) => {
    const at = fmtAt(b);
    const v = random() < 0.7 ? pick(random, typical) : int(random, range);
    if (at !== undefined) set(b, at + offset, v);
    return [b, `${name} = ${hex ? `0x${v.toString(16)}` : v}`];
  };

const MUTATIONS: Record<string, Mutation> = {
  chunkSize: (b, random) => {
    const table = chunkTable(b);
    if (!table.length) return [b, 'chunkSize (no chunks)'];
    const c = pick(random, table);
    const v = u32(random, c.size);
    setU32(b, c.at + 4, v);
    return [b, `size of '${c.id}' at ${c.at} = ${v >>> 0}`];
  },
  riffSize: (b, random) => {
    const v = u32(random, b.length - 8);
    setU32(b, 4, v);
    return [b, `RIFF size = ${v >>> 0}`];
  },
  format: fmtField('format', 0, setU16, FORMAT_CODES, 65536, true),
  subFormat: fmtField('sub-format', 24, setU16, FORMAT_CODES, 65536, true),
  channels: fmtField('channels', 2, setU16, CHANNELS, 65536),
  rate: fmtField('rate', 4, setU32, RATE_EDGES, 2 ** 32),
  byteRateAndAlign: (b, random) => {
    const at = fmtAt(b);
    if (at !== undefined) setU32(b, at + 8, u32(random)), setU16(b, at + 12, int(random, 65536));
    return [b, 'byte rate and block align'];
  },
  bits: fmtField('bits', 14, setU16, BITS, 65536),
  truncate: (b, random) => {
    const n = random() < 0.5 ? int(random, Math.min(b.length, 80) + 1) : int(random, b.length + 1);
    return [b.slice(0, n), `truncated to ${n}`];
  },
  oddTail: (b, random) => {
    const out = new Uint8Array(b.length + 1 + int(random, 3));
    out.set(b);
    return [out, `${out.length - b.length} trailing bytes`];
  },
  extraChunk: (b, random) => {
    const table = chunkTable(b);
    const at = Math.min(b.length, random() < 0.8 && table.length ? pick(random, [...table.map((c) => c.at), b.length]) : 12);
    const id = pick(random, ['fmt ', 'data', 'LIST', 'PAD ', 'fact', 'RIFF', '\0\0\0\0', 'Ωx']);
    const bodyLength = int(random, 48);
    const declared = random() < 0.7 ? bodyLength : u32(random, bodyLength);
    const chunk = new Uint8Array(8 + bodyLength).map((_, i) => (i >= 8 ? int(random, 256) : 0));
    chunk.set(ascii(id.padEnd(4, ' ').slice(0, 4)).map((c) => c & 0xff));
    setU32(chunk, 4, declared);
    const out = new Uint8Array(b.length + chunk.length);
    out.set(b.subarray(0, at));
    out.set(chunk, at);
    out.set(b.subarray(at), at + chunk.length);
    return [out, `'${id}' chunk of ${bodyLength} bytes (declared ${declared >>> 0}) inserted at ${at}`];
  },
  duplicateChunk: (b, random) => {
    const table = chunkTable(b).filter((c) => c.at + 8 + c.size <= b.length);
    if (!table.length) return [b, 'duplicateChunk (none whole)'];
    const c = pick(random, table);
    const whole = b.slice(c.at, c.at + 8 + c.size + (c.size & 1));
    const out = new Uint8Array(b.length + whole.length);
    out.set(b);
    out.set(whole, b.length);
    return [out, `'${c.id}' chunk repeated at the end`];
  },
  chunkId: (b, random) => {
    const table = chunkTable(b);
    if (!table.length) return [b, 'chunkId (no chunks)'];
    const c = pick(random, table);
    const id = pick(random, ['DATA', 'fmt\0', 'data', 'fmt ', 'LIST', 'xxxx']);
    b.set(ascii(id), c.at);
    return [b, `'${c.id}' renamed '${id}'`];
  },
  magic: (b, random) => {
    const [at, id] = pick(random, [[0, 'RIFX'], [0, 'RF64'], [0, 'riff'], [8, 'WAVX'], [8, 'AVI ']] as const);
    if (b.length >= at + 4) b.set(ascii(id), at);
    return [b, `magic '${id}' at ${at}`];
  },
  flipHeaderBytes: (b, random) => {
    const n = 1 + int(random, 4);
    const where: number[] = [];
    for (let i = 0; i < n && b.length; i++) {
      const at = int(random, Math.min(b.length, 96));
      b[at] ^= 1 << int(random, 8);
      where.push(at);
    }
    return [b, `bits flipped at ${where.join(',')}`];
  },
  randomHeaderBytes: (b, random) => {
    const at = int(random, Math.min(b.length, 64) + 1);
    const n = Math.min(1 + int(random, 8), b.length - at);
    for (let i = 0; i < n; i++) b[at + i] = int(random, 256);
    return [b, `${n} random bytes at ${at}`];
  },
  deleteBytes: (b, random) => {
    const at = int(random, Math.min(b.length, 96) + 1);
    const n = Math.min(1 + int(random, 6), b.length - at);
    const out = new Uint8Array(b.length - n);
    out.set(b.subarray(0, at));
    out.set(b.subarray(at + n), at);
    return [out, `${n} bytes deleted at ${at}`];
  },
  garbageData: (b, random) => {
    // For float formats, random bytes hold NaNs, infinities and huge values.
    const data = chunkTable(b).find((c) => c.id === 'data');
    if (data) for (let i = data.at + 8; i < Math.min(b.length, data.at + 8 + data.size); i++) b[i] = int(random, 256);
    return [b, 'random sample bytes'];
  },
  nanData: (b) => {
    const data = chunkTable(b).find((c) => c.id === 'data');
    if (data) for (let i = data.at + 8; i < Math.min(b.length, data.at + 8 + data.size); i++) b[i] = 0xff; // NaN in float
    return [b, 'all sample bytes 0xff'];
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

// ------------------------------------------------------------------------------------------ the property

interface Outcome {
  decoded: number;
  refused: number;
  failures: string[];
  slowestMs: number;
}

/** decode -> resample -> windows for one case; a failure is described, not thrown, so the run goes on. */
function check(bytes: Uint8Array, name: string, description: string, outcome: Outcome): void {
  const started = performance.now();
  const fail = (why: string) => outcome.failures.push(`${name} [${description}]: ${why}`);
  try {
    // The decoder's output is bounded by the bytes present, whatever the header declares.
    const decoded = decodeWav(bytes, name);
    if (decoded.samples.length > bytes.length) fail(`${decoded.samples.length} samples from ${bytes.length} bytes`);
    if (!(decoded.sampleRate >= MIN_SAMPLE_RATE && decoded.sampleRate <= MAX_SAMPLE_RATE)) fail(`rate ${decoded.sampleRate} accepted`);
    const audio = decodeAudio(bytes, name, TARGET_RATE);
    const bound = Math.ceil((decoded.samples.length * TARGET_RATE) / decoded.sampleRate) + 2;
    if (audio.length > bound) fail(`${audio.length} samples after resampling, more than ${bound}`);
    if (!audio.every(Number.isFinite)) fail('non-finite samples');
    const windows = fixedWindows(audio, WINDOW, HOP);
    if (windows.length !== windowStarts(audio.length, WINDOW, HOP).length) fail('window count');
    if (windows.some((w) => w.length !== WINDOW || !w.every(Number.isFinite))) fail('bad window');
    outcome.decoded++;
  } catch (e) {
    if (!(e instanceof AudioError)) fail(`${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? e}`);
    else if (e.file !== name || !e.message.startsWith(`${name}: `)) fail(`AudioError not naming the file: ${e.message}`);
    else outcome.refused++;
  }
  outcome.slowestMs = Math.max(outcome.slowestMs, performance.now() - started);
}

function fuzz(bases: Uint8Array[], cases: number, seed: number, label: string, basesDecode = true): Outcome {
  const random = seededRandom(seed);
  const outcome: Outcome = { decoded: 0, refused: 0, failures: [], slowestMs: 0 };
  // The unmutated bases first: they must decode.
  bases.forEach((b, i) => check(b.slice(), `${label}/base ${i}.wav`, 'unmutated', outcome));
  expect(outcome.failures.join('\n')).toBe('');
  if (basesDecode) expect(outcome.decoded).toBe(bases.length);
  for (let i = 0; i < cases; i++) {
    let bytes: Uint8Array = pick(random, bases).slice();
    const applied: string[] = [];
    const count = 1 + int(random, 3);
    for (let m = 0; m < count; m++) {
      const [out, what] = MUTATIONS[pick(random, MUTATION_NAMES)](bytes, random);
      bytes = out;
      applied.push(what);
    }
    check(bytes, `${label}/case ${i} (é).wav`, applied.join('; '), outcome);
  }
  return outcome;
}

const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;

describe('WAV fuzzing: decode -> resample -> windows', () => {
  it('10000 seeded mutations of generated WAVs: finite samples or an AudioError naming the file', () => {
    const random = seededRandom(12);
    const bases = Array.from({ length: 40 }, () => generatedWav(random));
    const rssBefore = maxRssMiB();
    const started = performance.now();
    const outcome = fuzz(bases, 10_000, 2024, 'generated');
    const seconds = (performance.now() - started) / 1000;
    expect(outcome.failures.slice(0, 20).join('\n')).toBe('');
    // Both outcomes are well exercised, nothing hung, and no header made the process allocate much.
    expect(outcome.decoded).toBeGreaterThan(2000);
    expect(outcome.refused).toBeGreaterThan(5000);
    expect(outcome.slowestMs).toBeLessThan(2000);
    expect(seconds).toBeLessThan(40);
    expect(maxRssMiB() - rssBefore).toBeLessThan(256);
    console.log(`generated: ${outcome.decoded} decoded, ${outcome.refused} refused, slowest ${outcome.slowestMs.toFixed(0)} ms, ${seconds.toFixed(1)} s`);
  });

  const emodbWav = fileURLToPath(new URL('../../shared/data/emodb/wav', import.meta.url));
  const emodbFile = existsSync(emodbWav) ? readdirSync(emodbWav).filter((f) => f.endsWith('.wav')).sort()[0] : undefined;
  const emodbTitle = `2000 seeded mutations of the first 4 KiB of a real EMO-DB file${emodbFile ? '' : ` (skipped: no WAV files in ${emodbWav})`}`;
  it.skipIf(!emodbFile)(emodbTitle, async () => {
    const handle = await open(join(emodbWav, emodbFile!), 'r');
    const head = new Uint8Array(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    await handle.close();
    const raw = head.slice(0, bytesRead); // its data chunk declares more than these bytes: truncated
    const fitted = raw.slice();
    const data = chunkTable(fitted).find((c) => c.id === 'data')!;
    expect(data).toBeDefined();
    setU32(fitted, data.at + 4, (fitted.length - data.at - 8) & ~1); // the same head, its data size cut to fit
    setU32(fitted, 4, fitted.length - 8);
    expect(() => decodeWav(raw, 'head.wav')).toThrow(/truncated/);
    const outcome = fuzz([fitted], 2000, 535, 'emodb');
    expect(outcome.failures.slice(0, 20).join('\n')).toBe('');
    expect(outcome.decoded).toBeGreaterThan(200);
    expect(outcome.refused).toBeGreaterThan(600);
    expect(outcome.slowestMs).toBeLessThan(2000);
    const truncatedOutcome = fuzz([raw], 200, 536, 'emodb-truncated', false);
    expect(truncatedOutcome.failures.slice(0, 20).join('\n')).toBe('');
    console.log(`emodb head: ${outcome.decoded} decoded, ${outcome.refused} refused; truncated head: ${truncatedOutcome.decoded} decoded, ${truncatedOutcome.refused} refused`);
  });
});
