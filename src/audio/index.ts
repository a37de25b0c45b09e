// Audio for training, inference, the page and the embedding API alike: WAV decoding (wav.ts), one resampler
// for whole signals and streams (resample.ts), level normalisation (level.ts), the network's windows
// (windows.ts), reading files (load.ts, Node only) and the newest samples of a stream (ring-buffer.ts).
export { AudioError, decodeWav, encodeWav16, isSupportedSampleRate, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, SAMPLE_RATE_RANGE, type DecodedAudio } from './wav.js';
export { resample, StreamingResampler } from './resample.js';
export { normalizeLevel } from './level.js';
export { fixedWindows, windowAt, windowStarts } from './windows.js';
export { decodeAudio, loadAudio, MAX_AUDIO_FILE_BYTES } from './load.js';
export { RingBuffer } from './ring-buffer.js';
