// Test signals and their measurements, for the audio and resampling tests: tones, RMS level, and the
// frequency of a spectrum's peak.

export const sine = (freq: number, rate: number, seconds: number, amplitude = 0.5) =>
  Float64Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * freq * i) / rate));

export const rms = (x: ArrayLike<number>, from = 0, to = x.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
};

/** Frequency (Hz) of the largest Hann-windowed DFT magnitude between lo and hi, by Goertzel in 1 Hz steps. */
export function peakFrequency(x: Float32Array, rate: number, lo: number, hi: number): number {
  const w = Float64Array.from(x, (v, i) => v * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (x.length - 1))));
  let best = lo;
  let bestPower = -1;
  for (let f = lo; f <= hi; f++) {
    const c = 2 * Math.cos((2 * Math.PI * f) / rate);
    let s1 = 0;
    let s2 = 0;
    for (const v of w) {
      const s0 = v + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - c * s1 * s2;
    if (power > bestPower) (bestPower = power), (best = f);
  }
  return best;
}
