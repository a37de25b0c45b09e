// Audio input: WAV decoding in every supported format (checked against wavefile's writer and against
// hand-built headers), clear AudioErrors for bad files, level normalisation, fixed windowing, and loading files
// (resampling has its own file, test/resample.test.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wavefile from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AudioError,
  decodeWav,
  fixedWindows,
  loadAudio,
  MAX_AUDIO_FILE_BYTES,
  MAX_SAMPLE_RATE,
  MIN_SAMPLE_RATE,
  normalizeLevel,
  windowStarts,
} from '../src/audio/index.js';
import { peakFrequency, rms, sine } from './signals.js';
import { fmtBody, riff } from './wav-builders.js';
import { titleNeeding } from './skip.js';

const { WaveFile } = wavefile;

/** Integer codes for a PCM bit depth (8-bit WAV is unsigned). */
function pcmCodes(x: Float64Array, bits: number): Float64Array {
  const full = 2 ** (bits - 1) - 1;
  return x.map((v) => Math.round(v * full) + (bits === 8 ? 128 : 0));
}

/** A WAV written by wavefile, the independent reference writer. */
function wavefileBytes(channels: Float64Array[], rate: number, bitDepth: string): Uint8Array {
  const bits = parseInt(bitDepth, 10);
  const float = bitDepth === '32f' || bitDepth === '64';
  const coded = channels.map((c) => (float ? c : pcmCodes(c, bits)));
  const wav = new WaveFile();
  wav.fromScratch(channels.length, rate, bitDepth, channels.length === 1 ? coded[0] : coded);
  return wav.toBuffer();
}

const int16Body = (codes: number[]) => {
  const b = new Uint8Array(codes.length * 2);
  codes.forEach((c, i) => new DataView(b.buffer).setInt16(i * 2, c, true));
  return b;
};

describe('decodeWav', () => {
  const x = sine(440, 16000, 0.05, 0.8);

  it.each([
    ['8', 2 / 128],
    ['16', 2 / 32768],
    ['24', 2 / 2 ** 23],
    // Beyond 24 bits the Float32Array output, not the file, limits precision.
    ['32', 1e-7],
    ['32f', 1e-7],
    ['64', 1e-7],
  ])('decodes %s-bit mono to floats in [-1, 1]', (bitDepth, tolerance) => {
    const decoded = decodeWav(wavefileBytes([x], 16000, bitDepth), 'mono.wav');
    expect(decoded.sampleRate).toBe(16000);
    expect(decoded.samples).toHaveLength(x.length);
    let worst = 0;
    decoded.samples.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - x[i]))));
    expect(worst).toBeLessThan(tolerance);
  });

  it('mixes stereo 24-bit to mono by averaging the channels', () => {
    const left = sine(300, 22050, 0.05, 0.9);
    const right = sine(700, 22050, 0.05, 0.4);
    const decoded = decodeWav(wavefileBytes([left, right], 22050, '24'), 'stereo.wav');
    expect(decoded.sampleRate).toBe(22050);
    expect(decoded.samples).toHaveLength(left.length);
    decoded.samples.forEach((v, i) => expect(Math.abs(v - (left[i] + right[i]) / 2)).toBeLessThan(2 / 2 ** 23));
  });

  it('reports an 8 kHz file as 8 kHz', () => {
    const decoded = decodeWav(wavefileBytes([sine(500, 8000, 0.25)], 8000, '16'), 'narrowband.wav');
    expect(decoded.sampleRate).toBe(8000);
    expect(decoded.samples).toHaveLength(2000);
  });

  it("walks past extra chunks (EMO-DB's 'PAD ', LIST, odd-sized ones) to find fmt and data", () => {
    const bytes = riff([
      { id: 'LIST', body: new Uint8Array(7) }, // odd size: padded to a word boundary
      { id: 'fmt ', body: fmtBody(1, 1, 16000, 16) },
      { id: 'PAD ', body: new Uint8Array(100) },
      { id: 'data', body: int16Body([0, 16384, -16384, 32767, -32768]) },
    ]);
    expect([...decodeWav(bytes, 'pad.wav').samples]).toEqual([0, 0.5, -0.5, 32767 / 32768, -1]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE float and PCM', () => {
    const floats = new Uint8Array(new Float32Array([0.25, -0.75]).buffer);
    const ext = riff([{ id: 'fmt ', body: fmtBody(0xfffe, 1, 48000, 32, 3) }, { id: 'data', body: floats }]);
    expect([...decodeWav(ext, 'ext-float.wav').samples]).toEqual([0.25, -0.75]);
    const pcm = riff([{ id: 'fmt ', body: fmtBody(0xfffe, 1, 48000, 16, 1) }, { id: 'data', body: int16Body([8192]) }]);
    expect([...decodeWav(pcm, 'ext-pcm.wav').samples]).toEqual([0.25]);
  });

  it('turns each NaN or infinite float sample into 0 and clips each other one to [-1, 1] before mixing the channels', () => {
    // Frames (left, right): a NaN beside a good sample, an infinity, a hot sample beside silence, two good ones.
    const frames = new Float32Array([NaN, 0.5, -Infinity, -0.25, 4, 0, 0.5, -0.25]);
    for (const [bits, data] of [[32, new Uint8Array(frames.buffer)], [64, new Uint8Array(Float64Array.from(frames).buffer)]] as const) {
      const bytes = riff([{ id: 'fmt ', body: fmtBody(3, 2, 16000, bits) }, { id: 'data', body: data }]);
      expect([...decodeWav(bytes, 'garbage.wav').samples]).toEqual([0.25, -0.125, 0.5, 0.125]);
    }
  });

  it('accepts sample rates from 1 kHz to 768 kHz', () => {
    for (const rate of [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]) {
      const bytes = riff([{ id: 'fmt ', body: fmtBody(1, 1, rate, 16) }, { id: 'data', body: int16Body([8192, -8192]) }]);
      expect(decodeWav(bytes, 'edge.wav')).toEqual({ samples: Float32Array.from([0.25, -0.25]), sampleRate: rate });
    }
  });

  it('decodes long multi-channel files in blocks, and frames wider than 64 KiB', () => {
    // 3 channels x 30000 frames: several of the decoder's blocks, whose boundaries fall inside no frame.
    const frames = 30000;
    const codes = Array.from({ length: frames * 3 }, (_, i) => ((i * 7919) % 65536) - 32768);
    const bytes = riff([{ id: 'fmt ', body: fmtBody(1, 3, 16000, 16) }, { id: 'data', body: int16Body(codes) }]);
    const decoded = decodeWav(bytes, 'three.wav').samples;
    expect(decoded).toHaveLength(frames);
    for (let f = 0; f < frames; f++) {
      expect(decoded[f]).toBe(Math.fround((codes[3 * f] + codes[3 * f + 1] + codes[3 * f + 2]) / (3 * 32768)));
    }
    // 9000 channels of 64-bit float: 72000-byte frames (the header's 16-bit block-align field cannot say so).
    const wide = new Float64Array(2 * 9000).map((_, i) => (i < 9000 ? 0.5 : -0.25));
    const wideBytes = riff([{ id: 'fmt ', body: fmtBody(3, 9000, 8000, 64) }, { id: 'data', body: new Uint8Array(wide.buffer) }]);
    expect([...decodeWav(wideBytes, 'wide.wav').samples]).toEqual([0.5, -0.25]);
  });

  const fmt16 = { id: 'fmt ', body: fmtBody(1, 1, 16000, 16) };
  it('reads a streamed WAV (a data chunk of 0xFFFFFFFF bytes, as ffmpeg and sox write to a pipe) to the end of the file', () => {
    const codes = [1, -2, 3, 32767, -32768];
    const want = codes.map((c) => Math.fround(c / 32768));
    const streamed = riff([fmt16, { id: 'data', body: int16Body(codes), declaredSize: 0xffffffff }]);
    expect([...decodeWav(streamed, 'piped.wav').samples]).toEqual(want);
    // A last odd byte (half a sample) is not a sample; a chunk before the fmt chunk is passed over as ever.
    const odd = riff([{ id: 'LIST', body: new Uint8Array(5) }, fmt16, { id: 'data', body: Uint8Array.from([...int16Body(codes), 7]), declaredSize: 0xffffffff }]);
    expect([...decodeWav(odd.subarray(0, odd.length - 1), 'odd.wav').samples]).toEqual(want);
  });

  it.each<[string, () => Uint8Array, RegExp]>([
    ['a zero-length file', () => new Uint8Array(0), /empty file/],
    ['a text file named .wav', () => new TextEncoder().encode('this is not audio, just some text\n'), /not a WAV file/],
    ['a corrupt header', () => riff([{ id: 'fmt ', body: new Uint8Array(6) }, { id: 'data', body: int16Body([1, 2]) }]), /corrupt header/],
    ['garbage after RIFF/WAVE', () => { const b = riff([fmt16]); b.set([0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0x7f], 12); return b; }, /corrupt header/],
    ['a missing data chunk', () => riff([fmt16]), /no data chunk/],
    ['a truncated data chunk', () => riff([fmt16, { id: 'data', body: int16Body([1, 2, 3]), declaredSize: 6000 }]), /truncated/],
    ['zero samples', () => riff([fmt16, { id: 'data', body: new Uint8Array(0) }]), /no samples/],
    ['zero channels', () => riff([{ id: 'fmt ', body: fmtBody(1, 0, 16000, 16) }, { id: 'data', body: int16Body([1]) }]), /corrupt header/],
    ['12-bit PCM', () => riff([{ id: 'fmt ', body: fmtBody(1, 1, 16000, 12) }, { id: 'data', body: int16Body([1]) }]), /unsupported format: PCM with 12 bits/],
    ['A-law', () => riff([{ id: 'fmt ', body: fmtBody(6, 1, 8000, 8) }, { id: 'data', body: new Uint8Array(4) }]), /unsupported format: format code 0x6/],
    ['a big-endian RIFX file', () => { const b = riff([fmt16]); b.set([0x52, 0x49, 0x46, 0x58]); return b; }, /unsupported format: RIFX/],
    ...[0, 1, 999, 768_001, 2_000_000_000, 0xffffffff].map((rate): [string, () => Uint8Array, RegExp] => [
      `a sample rate of ${rate} Hz`,
      () => riff([{ id: 'fmt ', body: fmtBody(1, 1, rate, 16) }, { id: 'data', body: int16Body([1, 2, 3]) }]),
      new RegExp(`unsupported sample rate: ${rate} Hz \\(accepted: 1000 to 768000 Hz\\)`),
    ]),
  ])('rejects %s with an AudioError naming the file', (_, bytes, reason) => {
    const file = '/data/corpus/bad file.wav';
    let error: unknown;
    try {
      decodeWav(bytes(), file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AudioError);
    expect((error as AudioError).file).toBe(file);
    expect((error as AudioError).message).toContain(file);
    expect((error as AudioError).message).toMatch(reason);
  });
});

describe('normalizeLevel', () => {
  it('removes the mean and scales to unit RMS', () => {
    const y = normalizeLevel(Float32Array.from(sine(200, 16000, 0.1, 0.01), (v) => v + 0.3));
    expect(Math.abs(y.reduce((s, v) => s + v, 0) / y.length)).toBeLessThan(1e-6);
    expect(rms(y)).toBeCloseTo(1, 5);
  });

  it('leaves silence (and pure DC) at zero, never NaN', () => {
    for (const x of [new Float32Array(100), new Float32Array(100).fill(0.25), new Float32Array(0)]) {
      const y = normalizeLevel(x);
      expect(y).toHaveLength(x.length);
      expect([...y].every((v) => v === 0)).toBe(true);
    }
  });
});

describe('fixedWindows', () => {
  const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 1);
  const starts = (ws: Float32Array[]) => ws.map((w) => w[0] - 1);

  it('fills one window with a short signal repeated, and gives none for an empty one', () => {
    const ws = fixedWindows(ramp(3), 8, 8);
    expect(ws).toHaveLength(1);
    expect([...ws[0]]).toEqual([1, 2, 3, 1, 2, 3, 1, 2]);
    expect(fixedWindows(ramp(5), 5, 2).map((w) => [...w])).toEqual([[1, 2, 3, 4, 5]]);
    expect(fixedWindows(new Float32Array(0), 5, 5)).toEqual([]);
  });

  it('cuts exact windows every hop', () => {
    const ws = fixedWindows(ramp(20), 10, 5);
    expect(ws.every((w) => w.length === 10)).toBe(true);
    expect(starts(ws)).toEqual([0, 5, 10]);
  });

  it('keeps a tail of at least half a window as a final end-aligned window', () => {
    expect(starts(fixedWindows(ramp(25), 10, 10))).toEqual([0, 10, 15]); // tail of 5 = half: kept
    expect(starts(fixedWindows(ramp(28), 10, 10))).toEqual([0, 10, 18]);
    expect(starts(fixedWindows(ramp(23), 10, 5))).toEqual([0, 5, 10, 13]); // next window would hold 8
    const last = fixedWindows(ramp(28), 10, 10).at(-1)!;
    expect(last[9]).toBe(28); // ends on the last sample: nothing lost
  });

  it('drops a tail shorter than half a window', () => {
    expect(starts(fixedWindows(ramp(24), 10, 10))).toEqual([0, 10]);
  });

  it('windowStarts gives the same windows without cutting them', () => {
    for (const [n, length, hop] of [[0, 5, 5], [3, 5, 5], [5, 5, 2], [20, 10, 5], [25, 10, 10], [28, 10, 10], [23, 10, 5], [24, 10, 10], [1000, 64, 13]]) {
      expect(windowStarts(n, length, hop), `${n} ${length} ${hop}`).toEqual(n <= length ? (n ? [0] : []) : starts(fixedWindows(ramp(n), length, hop)));
    }
    expect(() => windowStarts(10, 4, 0)).toThrow(RangeError);
  });

  it('rejects non-positive or fractional sizes', () => {
    expect(() => fixedWindows(ramp(10), 0, 1)).toThrow(RangeError);
    expect(() => fixedWindows(ramp(10), 4, 0)).toThrow(RangeError);
    expect(() => fixedWindows(ramp(10), 4.5, 2)).toThrow(RangeError);
  });
});

describe('loadAudio', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ser-audio-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads, mixes to mono, resamples and normalises', async () => {
    const file = join(dir, 'stereo-44k.wav');
    const left = sine(1000, 44100, 0.5, 0.3);
    await writeFile(file, wavefileBytes([left, left.map((v) => v * 0.5)], 44100, '16'));
    const y = await loadAudio(file);
    expect(Math.abs(y.length - 8000)).toBeLessThanOrEqual(1);
    expect(rms(y)).toBeCloseTo(1, 4);
    expect(peakFrequency(y, 16000, 500, 3000)).toBe(1000);
    expect((await loadAudio(file, 8000)).length).toBe(4000);
  });

  it('names the file in errors for unreadable, text and truncated files', async () => {
    const text = join(dir, 'notes.wav');
    await writeFile(text, 'just text');
    await expect(loadAudio(text)).rejects.toThrow(new AudioError(text, 'not a WAV file (no RIFF/WAVE header)'));
    const truncated = join(dir, 'cut.wav');
    await writeFile(truncated, wavefileBytes([sine(440, 16000, 0.1)], 16000, '16').subarray(0, 1000));
    await expect(loadAudio(truncated)).rejects.toThrow(/cut\.wav: truncated/);
    const missing = join(dir, 'missing.wav');
    await expect(loadAudio(missing)).rejects.toThrow(`${missing}: cannot read: ENOENT`);
  });

  const refusal = async (file: string) => {
    const error = await loadAudio(file).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AudioError);
    expect((error as AudioError).file).toBe(file);
    return (error as AudioError).message;
  };

  it('refuses what is not a regular file before reading it: a directory, /dev/zero', async () => {
    const folder = join(dir, 'folder.wav');
    await mkdir(folder);
    expect(await refusal(folder)).toBe(`${folder}: not a regular file (a directory)`);
    if (existsSync('/dev/zero')) expect(await refusal('/dev/zero')).toBe('/dev/zero: not a regular file (a character device)');
  });

  const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
  it.skipIf(!hasMkfifo)(titleNeeding(hasMkfifo, 'refuses a FIFO without waiting for a writer', 'no mkfifo command'), async () => {
    const fifo = join(dir, 'pipe.wav');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(await refusal(fifo)).toBe(`${fifo}: not a regular file (a FIFO)`);
  });

  it(`refuses a file over ${MAX_AUDIO_FILE_BYTES / 2 ** 20} MiB by name and limit, without reading it`, async () => {
    expect(MAX_AUDIO_FILE_BYTES).toBe(512 * 2 ** 20);
    const big = join(dir, 'huge.wav');
    await writeFile(big, wavefileBytes([sine(440, 16000, 0.1)], 16000, '16'));
    const handle = await open(big, 'r+');
    await handle.truncate(MAX_AUDIO_FILE_BYTES + 1); // sparse: no disk space, but a valid WAV header
    await handle.close();
    const started = performance.now();
    expect(await refusal(big)).toBe(`${big}: too large: ${MAX_AUDIO_FILE_BYTES + 1} bytes (the limit is ${MAX_AUDIO_FILE_BYTES} bytes, 512 MiB)`);
    expect(performance.now() - started).toBeLessThan(1000);
    await rm(big);
  });

  it('reports an absurd sample rate as the file\'s AudioError (the resampler never sees it)', async () => {
    for (const rate of [2_000_000_000, 1, 0]) {
      const file = join(dir, `rate-${rate}.wav`);
      await writeFile(file, riff([{ id: 'fmt ', body: fmtBody(1, 1, rate, 16) }, { id: 'data', body: int16Body([100, -200, 300, -400]) }]));
      expect(await refusal(file)).toBe(`${file}: unsupported sample rate: ${rate} Hz (accepted: 1000 to 768000 Hz)`);
    }
  });
});
