// WAV bytes to mono samples and back: the RIFF chunk walk, wavefile's sample unpacking, 16-bit encoding, the
// sample rates we accept, and AudioError (every failure names its file). Browser-safe: bytes in, no file I/O.
import * as wavefileModule from 'wavefile';

// Node loads wavefile's CommonJS build (everything under `default`); bundlers take its ES module (named export).
type WaveFileClass = typeof wavefileModule.WaveFile;
const wavefileExports: { WaveFile?: WaveFileClass; default?: { WaveFile: WaveFileClass } } = wavefileModule;
const WaveFile = (wavefileExports.WaveFile ?? wavefileExports.default?.WaveFile)!;

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

/** The data chunk size a writer that cannot seek back puts in the header: "unknown, to the end of the file". */
const STREAMED_SIZE = 0xffffffff;

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
      if (size === STREAMED_SIZE) {
        // Written to a pipe (ffmpeg, sox): the size was not known when the header went out, so the samples run to
        // the end of the file.
        data = { start: body, size: bytes.length - body };
        break;
      }
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
  const float = format === FORMAT_FLOAT;
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
      for (let c = 0; c < channels; c++) {
        const v = interleaved[at++];
        // A garbage float file must not poison level normalisation with NaN/Inf or wild peaks. Each sample is
        // mended before the channels are mixed, so that a bad one does not take its frame's good ones with it.
        sum += float ? (Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0) : v;
      }
      samples[block + f] = (sum - offset) * gain;
    }
  }
  return { samples, sampleRate: layout.sampleRate };
}

/** 16-bit PCM mono WAV bytes; samples beyond [-1, 1] are clipped. */
export function encodeWav16(samples: Float32Array, sampleRate: number): Uint8Array {
  const codes = Int16Array.from(samples, (v) => Math.round(Math.max(-1, Math.min(1, v)) * 32767));
  const wav = new WaveFile();
  wav.fromScratch(1, sampleRate, '16', codes);
  return wav.toBuffer();
}
