// Training-time augmentation of a batch's windows, on the host before upload.
//
// Speed perturbation (Ko et al. 2015, the standard augmentation of speech recognition and speaker embedding
// training): each window is replayed at a random rate r in [1 - p, 1 + p], which moves its pitch and formants
// by the same factor and its tempo by 1/r. A speaker's voice then covers a band of pitches instead of one, which
// helps a model that is tested on voices it has never heard. The window keeps its length: it reads (t·r) mod L,
// so a faster replay wraps around to the window's start, as the repetition that fills short utterances does.

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
