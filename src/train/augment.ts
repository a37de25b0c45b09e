// Training-time augmentation of a batch's windows, on the host before upload.
//
// Speed perturbation (Ko et al. 2015, the standard augmentation of speech recognition and speaker embedding
// training): each window is replayed at a random rate r in [1 - p, 1 + p], which moves its pitch and formants
// by the same factor and its tempo by 1/r. A speaker's voice then covers a band of pitches instead of one, which
// helps a model that is tested on voices it has never heard. The window keeps its length: it reads (t·r) mod L,
// so a faster replay wraps around to the window's start, as the repetition that fills short utterances does.
//
// Additive noise: white Gaussian noise at a signal-to-noise ratio drawn per window, so that the model meets each
// training voice behind a noise floor (a laptop's microphone, a room) rather than only in the studio silence the
// acted corpora were recorded in.

/** Replays each of the n windows of `samples` ([n × windowSamples], changed in place) at a rate drawn
 * uniformly from [1 - maxChange, 1 + maxChange], by linear interpolation. */
export function perturbSpeed(samples: Float32Array, windowSamples: number, maxChange: number, random: () => number): void {
  if (!(maxChange >= 0 && maxChange < 1)) throw new RangeError(`perturbSpeed: maxChange ${maxChange} must be in [0, 1)`);
  if (samples.length % windowSamples !== 0) throw new RangeError(`perturbSpeed: ${samples.length} samples are not whole windows of ${windowSamples}`);
  if (maxChange === 0) return;
  const L = windowSamples;
  const source = new Float32Array(L);
  for (let start = 0; start < samples.length; start += L) {
    const rate = 1 - maxChange + 2 * maxChange * random();
    source.set(samples.subarray(start, start + L));
    for (let t = 0; t < L; t++) {
      const at = (t * rate) % L;
      const i = Math.floor(at);
      const frac = at - i;
      samples[start + t] = source[i] * (1 - frac) + source[(i + 1) % L] * frac;
    }
  }
}

/** Adds white Gaussian noise to each of the n windows of `samples` ([n × windowSamples], changed in place), at a
 * signal-to-noise ratio drawn uniformly from [low, high] dB of that window's own power. A silent window (power 0)
 * has no SNR and stays silent; its SNR is drawn all the same, so the windows after it get the same draws. */
export function addNoise(samples: Float32Array, windowSamples: number, snrDb: readonly [number, number], random: () => number): void {
  const [low, high] = snrDb;
  if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high)) throw new RangeError(`addNoise: the SNR range [${low}, ${high}] dB must be two finite numbers, low ≤ high`);
  if (samples.length % windowSamples !== 0) throw new RangeError(`addNoise: ${samples.length} samples are not whole windows of ${windowSamples}`);
  const L = windowSamples;
  for (let start = 0; start < samples.length; start += L) {
    const snr = low + (high - low) * random();
    let energy = 0;
    for (let t = start; t < start + L; t++) energy += samples[t] * samples[t];
    if (energy === 0) continue;
    const sigma = Math.sqrt(energy / L / 10 ** (snr / 10));
    // Box-Muller: two independent normal values from each pair of uniform draws.
    for (let t = start; t < start + L; t += 2) {
      const radius = sigma * Math.sqrt(-2 * Math.log(1 - random()));
      const angle = 2 * Math.PI * random();
      samples[t] += radius * Math.cos(angle);
      if (t + 1 < start + L) samples[t + 1] += radius * Math.sin(angle);
    }
  }
}
