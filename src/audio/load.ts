// Audio files to model input: read a WAV file (refusing what is not a regular file of bounded size), decode it,
// resample it to the model's rate and normalise its level. Only readAudioFile touches the file system, through a
// dynamic import, so the rest stays browser-safe.
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
    const tooLarge = sizeRefusal(info.size);
    if (tooLarge) throw new AudioError(file, tooLarge);
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
