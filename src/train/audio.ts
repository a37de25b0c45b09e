// Audio input for training and recognition: WAV decoding (RIFF chunk walk + wavefile sample unpacking) and
// 16-bit encoding, resampling (wavefile's windowed-sinc resampler with a steep anti-aliasing filter), level
// normalisation, and cutting a signal into fixed-length windows. Everything returns mono Float32Array
// samples. Browser-safe: only loadAudio touches the file system, through a dynamic import.
import * as wavefileModule from 'wavefile';

// Node loads wavefile's CommonJS build (everything under `default`); bundlers take its ES module (named export).
type WaveFileClass = typeof wavefileModule.WaveFile;
const wavefileExports: { WaveFile?: WaveFileClass; default?: { WaveFile: WaveFileClass } } = wavefileModule;
const WaveFile = (wavefileExports.WaveFile ?? wavefileExports.default?.WaveFile)!;

// Loaded utterances are audio plus corpus labels; the type lives with the corpus vocabulary.
export type { LoadedUtterance } from './corpora/types.js';

export class AudioError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'AudioError';
  }
}

export interface DecodedAudio {
  samples: Float32Array;
  sampleRate: number;
}

/** Sample rates a WAV header may declare: anything outside is refused as an AudioError that says this range. */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 768_000;
/** loadAudio refuses larger files (by name, before reading them): 512 MiB, 46 minutes of 48 kHz 16-bit stereo. */
export const MAX_AUDIO_FILE_BYTES = 512 * 2 ** 20;

/** The accepted range, for error messages. */
export const SAMPLE_RATE_RANGE = `${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz`;

/** Whether a sample rate lies in the accepted range, MIN_SAMPLE_RATE to MAX_SAMPLE_RATE. */
export function isSupportedSampleRate(rate: number): boolean {
  return Number.isFinite(rate) && rate >= MIN_SAMPLE_RATE && rate <= MAX_SAMPLE_RATE;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
const SUPPORTED_BITS: Record<number, number[]> = { [FORMAT_PCM]: [8, 16, 24, 32], [FORMAT_FLOAT]: [32, 64] };

interface WavLayout {
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  dataStart: number;
  frames: number;
}

const fourCC = (b: Uint8Array, at: number) => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);

/** Walks the RIFF chunks (any order, any extra chunks such as EMO-DB's 'PAD ') to find 'fmt ' and 'data'. */
function readLayout(bytes: Uint8Array, file: string): WavLayout {
  const fail = (reason: string) => new AudioError(file, reason);
  if (bytes.length === 0) throw fail('empty file (0 bytes)');
  if (bytes.length < 12 || fourCC(bytes, 0) !== 'RIFF' || fourCC(bytes, 8) !== 'WAVE') {
    const container = bytes.length >= 4 ? fourCC(bytes, 0) : '';
    if (container === 'RIFX' || container === 'RF64') throw fail(`unsupported format: ${container} container`);
    throw fail('not a WAV file (no RIFF/WAVE header)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavLayout, 'dataStart' | 'frames'> | undefined;
  let data: { start: number; size: number } | undefined;
  for (let at = 12; at + 8 <= bytes.length && !(fmt && data); ) {
    const id = fourCC(bytes, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) throw fail('corrupt header: fmt chunk is too short or cut off');
      let format = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format code in the first two bytes of its sub-format GUID.
      if (format === FORMAT_EXTENSIBLE && size >= 40) format = view.getUint16(body + 24, true);
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (body + size > bytes.length) {
        throw fail(`truncated: data chunk declares ${size} bytes but only ${bytes.length - body} are present`);
      }
      data = { start: body, size };
    }
    at = body + size + (size & 1); // chunks are word-aligned
  }
  if (!fmt) throw fail('corrupt header: no fmt chunk');
  if (!data) throw fail('corrupt header: no data chunk');
  if (fmt.channels === 0) throw fail('corrupt header: zero channels');
  if (!isSupportedSampleRate(fmt.sampleRate)) {
    throw fail(`unsupported sample rate: ${fmt.sampleRate} Hz (accepted: ${SAMPLE_RATE_RANGE})`);
  }
  if (!SUPPORTED_BITS[fmt.format]?.includes(fmt.bitsPerSample)) {
    const kind = fmt.format === FORMAT_PCM ? 'PCM' : fmt.format === FORMAT_FLOAT ? 'float' : `format code 0x${fmt.format.toString(16)}`;
    throw fail(`unsupported format: ${kind} with ${fmt.bitsPerSample} bits per sample`);
  }
  const frames = Math.floor(data.size / ((fmt.channels * fmt.bitsPerSample) / 8));
  if (frames === 0) throw fail('no samples (empty data chunk)');
  return { ...fmt, dataStart: data.start, frames };
}

/**
 * A canonical 44-byte-header mono copy of `count` stored samples from `first` (counted in samples, not frames), so
 * wavefile sees a plain PCM/float file whatever the original header held. Only the sample codes are wavefile's
 * to unpack: the channel count and the rate (which wavefile would validate against its own limits) are ours.
 */
function canonicalWav(bytes: Uint8Array, l: WavLayout, first: number, count: number): Uint8Array {
  const bytesPerSample = l.bitsPerSample / 8;
  const dataBytes = count * bytesPerSample;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const text = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  const rate = 8000;
  text(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, l.format, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * bytesPerSample, true);
  v.setUint16(32, bytesPerSample, true);
  v.setUint16(34, l.bitsPerSample, true);
  text(36, 'data');
  v.setUint32(40, dataBytes, true);
  const from = l.dataStart + first * bytesPerSample;
  out.set(bytes.subarray(from, from + dataBytes), 44);
  return out;
}

/** Stored samples (all channels) that wavefile unpacks at a time: bounds the decoder's scratch memory. */
const DECODE_BLOCK_SAMPLES = 1 << 16;

/**
 * Decodes 8/16/24/32-bit PCM or 32/64-bit float WAV bytes to mono floats (channels averaged). Every failure is
 * an AudioError naming `file`. What it allocates is bounded by the byte length (the header's sizes are checked
 * against it): the mono output plus a block of scratch.
 */
export function decodeWav(bytes: Uint8Array, file: string): DecodedAudio {
  try {
    return decodeLayout(bytes, readLayout(bytes, file), file);
  } catch (e) {
    if (e instanceof AudioError) throw e;
    throw new AudioError(file, `cannot decode: ${(e as Error).message}`);
  }
}

function decodeLayout(bytes: Uint8Array, layout: WavLayout, file: string): DecodedAudio {
  const { channels, frames, format, bitsPerSample } = layout;
  // wavefile returns raw integer codes for PCM (8-bit is unsigned); floats come back as stored.
  const offset = format === FORMAT_PCM && bitsPerSample === 8 ? 128 * channels : 0;
  const gain = 1 / ((format === FORMAT_FLOAT ? 1 : 2 ** (bitsPerSample - 1)) * channels);
  const samples = new Float32Array(frames);
  const framesPerBlock = Math.max(1, Math.floor(DECODE_BLOCK_SAMPLES / channels));
  for (let block = 0; block < frames; block += framesPerBlock) {
    const blockFrames = Math.min(framesPerBlock, frames - block);
    let interleaved: Float64Array;
    try {
      interleaved = new WaveFile(canonicalWav(bytes, layout, block * channels, blockFrames * channels)).getSamples(true, Float64Array);
    } catch (e) {
      throw new AudioError(file, `cannot decode samples: ${(e as Error).message}`);
    }
    for (let f = 0, at = 0; f < blockFrames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += interleaved[at++];
      samples[block + f] = (sum - offset) * gain;
    }
  }
  // A garbage float file must not poison level normalisation with NaN/Inf or wild peaks.
  if (format === FORMAT_FLOAT) {
    for (let f = 0; f < frames; f++) {
      const v = samples[f];
      samples[f] = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
    }
  }
  return { samples, sampleRate: layout.sampleRate };
}

/** Blackman window over the sinc kernel's support: far flatter passband than wavefile's default Gaussian. */
const SINC_HALF_WIDTH = 8;
const blackmanWindow = (x: number) =>
  Math.abs(x) >= SINC_HALF_WIDTH
    ? 0
    : 0.42 + 0.5 * Math.cos((Math.PI * x) / SINC_HALF_WIDTH) + 0.08 * Math.cos((2 * Math.PI * x) / SINC_HALF_WIDTH);

/**
 * wavefile's resampler: its low-pass (run forwards and backwards, zero phase) sits exactly at the lower
 * Nyquist, so only its steepness is ours to set. 32 Butterworth sections (64 poles) keep the band flat to
 * ~0.95·Nyquist and put aliases beyond 1.04·Nyquist more than 50 dB down (the default 16 gives ~26 dB).
 */
const RESAMPLER_OPTIONS = {
  method: 'sinc',
  LPF: true,
  LPFType: 'IIR',
  LPForder: 32,
  sincFilterSize: SINC_HALF_WIDTH,
  sincWindow: blackmanWindow,
};
/** Peak level inside the 32-bit integer container; 4x headroom absorbs filter overshoot. */
const CONTAINER_PEAK = 2 ** 29;

export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!(fromRate > 0 && toRate > 0)) throw new RangeError(`resample: invalid rates ${fromRate} -> ${toRate}`);
  if (fromRate === toRate || samples.length === 0) return samples.slice();
  let peak = 0;
  for (const v of samples) peak = Math.max(peak, Math.abs(v));
  // wavefile resamples whatever its container holds; a 32-bit integer container is ~10x faster than its
  // float64 one (whose byte packing dominates) and, scaled to the peak, still leaves noise near -170 dB.
  const gain = peak > 0 ? CONTAINER_PEAK / peak : 1;
  const container = new Float64Array(samples.length);
  for (let i = 0; i < samples.length; i++) container[i] = Math.round(samples[i] * gain);
  const wav = new WaveFile();
  wav.fromScratch(1, fromRate, '32', container);
  wav.toSampleRate(toRate, RESAMPLER_OPTIONS);
  const resampled = wav.getSamples(false, Float64Array);
  const out = new Float32Array(resampled.length);
  for (let i = 0; i < out.length; i++) out[i] = resampled[i] / gain;
  return out;
}

/** Below this RMS a signal is treated as silence rather than amplified noise. */
const SILENCE_RMS = 1e-8;

/** Zero mean, unit RMS; silence (or a pure DC offset) comes back as zeros, never NaN. */
export function normalizeLevel(samples: Float32Array): Float32Array {
  const n = samples.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  let mean = 0;
  for (const v of samples) mean += v;
  mean /= n;
  let power = 0;
  for (const v of samples) power += (v - mean) ** 2;
  const rms = Math.sqrt(power / n);
  if (!(rms > SILENCE_RMS)) return out;
  for (let i = 0; i < n; i++) out[i] = (samples[i] - mean) / rms;
  return out;
}

/**
 * Where fixedWindows' windows start, for a signal of n samples (see there); lets a caller cut windows one
 * batch at a time instead of copying them all.
 */
export function windowStarts(n: number, windowLength: number, hop: number): number[] {
  if (!Number.isInteger(windowLength) || windowLength < 1) throw new RangeError(`fixedWindows: bad windowLength ${windowLength}`);
  if (!Number.isInteger(hop) || hop < 1) throw new RangeError(`fixedWindows: bad hop ${hop}`);
  if (n === 0) return [];
  if (n <= windowLength) return [0];
  const starts: number[] = [];
  let start = 0;
  for (; start + windowLength <= n; start += hop) starts.push(start);
  const covered = start - hop + windowLength;
  const tail = n - start;
  if (covered < n && tail >= windowLength / 2) starts.push(n - windowLength);
  return starts;
}

/**
 * Windows of exactly windowLength every hop samples. A signal no longer than one window becomes one window
 * filled by repeating the signal (so the network never pools over long stretches of padding silence); an empty
 * signal gives none. After the last full window, the would-be next window
 * holds fewer than windowLength samples: if it holds at least half a window it is taken end-aligned
 * (overlapping the previous one) so no audio is lost; a shorter remainder is dropped as too little context.
 */
export function fixedWindows(samples: Float32Array, windowLength: number, hop: number): Float32Array[] {
  return windowStarts(samples.length, windowLength, hop).map((start) => windowAt(samples, start, windowLength));
}

/** The window of windowLength samples from start; a signal shorter than the window is repeated to fill it. */
export function windowAt(samples: Float32Array, start: number, windowLength: number, into = new Float32Array(windowLength)): Float32Array {
  const n = samples.length;
  if (start + windowLength <= n) into.set(samples.subarray(start, start + windowLength));
  else for (let at = 0; at < windowLength && n > 0; at += n) into.set(samples.subarray(0, Math.min(n, windowLength - at)), at);
  return into;
}

/** 16-bit PCM mono WAV bytes; samples beyond [-1, 1] are clipped. */
export function encodeWav16(samples: Float32Array, sampleRate: number): Uint8Array {
  const codes = Int16Array.from(samples, (v) => Math.round(Math.max(-1, Math.min(1, v)) * 32767));
  const wav = new WaveFile();
  wav.fromScratch(1, sampleRate, '16', codes);
  return wav.toBuffer();
}

/**
 * WAV bytes to mono samples at `sampleRate`, level-normalised: what loadAudio does after reading. Every failure
 * (reading the header, decoding, resampling) is an AudioError naming `file`.
 */
export function decodeAudio(bytes: Uint8Array, file: string, sampleRate = 16000): Float32Array {
  const decoded = decodeWav(bytes, file);
  try {
    return normalizeLevel(resample(decoded.samples, decoded.sampleRate, sampleRate));
  } catch (e) {
    throw new AudioError(file, `cannot resample from ${decoded.sampleRate} Hz to ${sampleRate} Hz: ${(e as Error).message}`);
  }
}

const fileKind = (s: import('node:fs').Stats) =>
  s.isDirectory() ? 'a directory' : s.isCharacterDevice() ? 'a character device' : s.isBlockDevice() ? 'a block device'
    : s.isFIFO() ? 'a FIFO' : s.isSocket() ? 'a socket' : 'not a file';

/**
 * A regular file of at most MAX_AUDIO_FILE_BYTES, read whole. Anything else (a directory, a device such as
 * /dev/zero, a FIFO, a larger file) is refused before reading, and reading stops at the size found then.
 */
async function readAudioFile(file: string): Promise<Uint8Array> {
  const { open, stat, constants } = await import('node:fs/promises');
  const check = (info: import('node:fs').Stats) => {
    if (!info.isFile()) throw new AudioError(file, `not a regular file (${fileKind(info)})`);
    if (info.size > MAX_AUDIO_FILE_BYTES) {
      throw new AudioError(file, `too large: ${info.size} bytes (the limit is ${MAX_AUDIO_FILE_BYTES} bytes, ${MAX_AUDIO_FILE_BYTES / 2 ** 20} MiB)`);
    }
  };
  const cannotRead = (e: unknown) =>
    e instanceof AudioError ? e : new AudioError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  try {
    // Checked before opening, since opening a FIFO waits for a writer (O_NONBLOCK covers a swap in between).
    check(await stat(file));
    const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    try {
      const info = await handle.stat();
      check(info);
      const bytes = new Uint8Array(info.size);
      let length = 0;
      while (length < bytes.length) {
        const { bytesRead } = await handle.read(bytes, length, bytes.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      return bytes.subarray(0, length);
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw cannotRead(e);
  }
}

/**
 * Reads a WAV file and returns mono, resampled, level-normalised samples. Every failure is an AudioError naming
 * the file: not a regular file, larger than MAX_AUDIO_FILE_BYTES, unreadable, not a supported WAV, a sample rate
 * outside MIN_SAMPLE_RATE..MAX_SAMPLE_RATE.
 */
export async function loadAudio(file: string, sampleRate = 16000): Promise<Float32Array> {
  return decodeAudio(await readAudioFile(file), file, sampleRate);
}
