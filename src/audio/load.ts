// Audio files to model input: read a WAV file (refusing what is not a regular file of bounded size), decode it,
// resample it to the model's rate and normalise its level. Only readAudioFile touches the file system (through
// ../io/regular-file.ts, which imports node:fs when called), so the rest stays browser-safe.
import { FileRefused, readRegularFile } from '../io/regular-file.js';
import { normalizeLevel } from './level.js';
import { resample } from './resample.js';
import { AudioError, decodeWav } from './wav.js';

/** loadAudio refuses larger files (by name, before reading them): 512 MiB, 46 minutes of 48 kHz 16-bit stereo. */
export const MAX_AUDIO_FILE_BYTES = 512 * 2 ** 20;

/** Why a file of `bytes` is refused before it is read (over MAX_AUDIO_FILE_BYTES), else null: loadAudio's word for a
 * file, and classifyWav's for a Blob. */
export function sizeRefusal(bytes: number): string | null {
  return bytes > MAX_AUDIO_FILE_BYTES ? `too large: ${bytes} bytes (the limit is ${MAX_AUDIO_FILE_BYTES} bytes, ${MAX_AUDIO_FILE_BYTES / 2 ** 20} MiB)` : null;
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

/** A regular file of at most MAX_AUDIO_FILE_BYTES, read whole (../io/regular-file.ts refuses a directory, a device
 * such as /dev/zero or a FIFO before reading): every failure an AudioError naming the file. */
async function readAudioFile(file: string): Promise<Uint8Array> {
  try {
    return await readRegularFile(file, sizeRefusal);
  } catch (e) {
    throw new AudioError(file, e instanceof FileRefused ? e.message : `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
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
