// Cutting a signal into the fixed-length windows the network reads: the same cut for training, evaluation,
// `ser predict`, the page and the embedding API.

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
export function windowAt(samples: Float32Array, start: number, windowLength: number, into: Float32Array = new Float32Array(windowLength)): Float32Array {
  const n = samples.length;
  if (start + windowLength <= n) into.set(samples.subarray(start, start + windowLength));
  else for (let at = 0; at < windowLength && n > 0; at += n) into.set(samples.subarray(0, Math.min(n, windowLength - at)), at);
  return into;
}
