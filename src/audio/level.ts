// Level normalisation: every signal reaches the network at zero mean and unit RMS, in training and inference.

/** Below this RMS a signal is treated as silence rather than amplified noise. */
const SILENCE_RMS = 1e-8;

/** A NaN or infinite sample counts as 0: one of them made the mean and RMS NaN, and so the whole signal silence
 * (classify() answered a recording with one bad sample "no usable signal"), as decodeWav mends a file's. */
const finite = (v: number) => (Number.isFinite(v) ? v : 0);

/** Zero mean, unit RMS; silence (or a pure DC offset, or nothing finite) comes back as zeros, never NaN. */
export function normalizeLevel(samples: Float32Array): Float32Array {
  const n = samples.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  let mean = 0;
  for (const v of samples) mean += finite(v);
  mean /= n;
  let power = 0;
  for (const v of samples) power += (finite(v) - mean) ** 2;
  const rms = Math.sqrt(power / n);
  if (!(rms > SILENCE_RMS)) return out;
  for (let i = 0; i < n; i++) out[i] = (finite(samples[i]) - mean) / rms;
  return out;
}
