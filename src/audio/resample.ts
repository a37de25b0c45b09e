// Sample-rate conversion, one filter for every path: `resample` converts a whole signal (training files,
// `ser predict`, `classify()`), and `StreamingResampler` is the same computation fed chunk by chunk (live audio
// at a rate other than the model's), so a stream at 44.1 or 48 kHz is filtered exactly as training data is.
//
// The filter is a Kaiser-windowed sinc low-pass at the lower of the two Nyquist frequencies, evaluated at each
// output's position t = i·fromRate/toRate (in input samples) over the inputs within ±span of it; the signal is
// zero outside its samples. Each output depends only on inputs that the stream has already received (or, at the
// end, that it never will: zeros), and is summed in the same order on both paths, so the two agree bit for bit.

/** Zero crossings of the sinc on each side: with KAISER_BETA, a transition band from 0.95 to 1.05 × the lower
 * Nyquist, a pass band flat to 0.003 dB and aliases more than 70 dB down (Kaiser's design formulas). */
const ZERO_CROSSINGS = 44;
const KAISER_BETA = 6.76;
/** Kernel table entries per zero crossing; linear interpolation between them errs by under 2e-6 (-110 dB). */
const TABLE_RESOLUTION = 512;

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the β used here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; term > 1e-12 * sum; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}

/** sinc(u)·kaiser(u) at u = j / TABLE_RESOLUTION zero crossings, j = 0 … ZERO_CROSSINGS·TABLE_RESOLUTION, then a 0
 * so that interpolation at the very edge reads a defined neighbour. Built on first use. */
let kernelTable: Float64Array | null = null;
function kernel(): Float64Array {
  if (kernelTable) return kernelTable;
  const n = ZERO_CROSSINGS * TABLE_RESOLUTION;
  const table = new Float64Array(n + 2);
  const norm = besselI0(KAISER_BETA);
  for (let j = 0; j <= n; j++) {
    const u = j / TABLE_RESOLUTION;
    const sinc = j === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
    table[j] = (sinc * besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - (u / ZERO_CROSSINGS) ** 2)))) / norm;
  }
  kernelTable = table;
  return table;
}

/** The low-pass between two rates, and where each output sits on the input's time axis. */
class ResamplingFilter {
  /** The cut-off as a fraction of the input's Nyquist: below 1 when decimating, so nothing aliases. */
  private readonly cutoff: number;
  /** Input samples on each side of an output that its sum reads. */
  readonly span: number;
  private readonly tableScale: number;
  private readonly table = kernel();

  constructor(readonly fromRate: number, readonly toRate: number) {
    if (!(fromRate > 0 && toRate > 0 && Number.isFinite(fromRate) && Number.isFinite(toRate))) {
      throw new RangeError(`resample: invalid rates ${fromRate} -> ${toRate}`);
    }
    this.cutoff = Math.min(1, toRate / fromRate);
    this.span = ZERO_CROSSINGS / this.cutoff;
    this.tableScale = this.cutoff * TABLE_RESOLUTION;
  }

  /** Output i's position in input samples. */
  time(i: number): number {
    return (i * this.fromRate) / this.toRate;
  }

  /** How many outputs a signal of n input samples has: those whose position lies inside it (i·from < n·to). */
  outputLength(n: number): number {
    const end = n * this.toRate;
    let count = Math.ceil(end / this.fromRate);
    while (count * this.fromRate < end) count++;
    while (count > 0 && (count - 1) * this.fromRate >= end) count--;
    return count;
  }

  /** Output i from `input`, which holds the signal's samples from index `base` on (all it has so far). */
  at(input: Float32Array, base: number, i: number): number {
    const t = this.time(i);
    const first = Math.max(0, Math.ceil(t - this.span));
    const last = Math.min(base + input.length - 1, Math.floor(t + this.span));
    const table = this.table;
    let sum = 0;
    for (let k = first; k <= last; k++) {
      const u = Math.abs(k - t) * this.tableScale;
      const j = Math.floor(u);
      sum += input[k - base] * (table[j] + (u - j) * (table[j + 1] - table[j]));
    }
    return sum * this.cutoff;
  }
}

/** `samples` at `fromRate` as samples at `toRate` (a copy at equal rates); see the top of this file. */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  const filter = new ResamplingFilter(fromRate, toRate);
  if (fromRate === toRate) return samples.slice();
  const out = new Float32Array(filter.outputLength(samples.length));
  for (let i = 0; i < out.length; i++) out[i] = filter.at(samples, 0, i);
  return out;
}

/**
 * `resample` for a stream: push() returns the outputs whose inputs have all arrived, flush() the rest once the
 * stream has ended, and the concatenation equals `resample` of the whole signal. An output waits for `span`
 * input samples after its position (44 samples at the output rate: 2.75 ms at 16 kHz).
 */
export class StreamingResampler {
  private readonly filter: ResamplingFilter;
  /** Input not yet consumed, from absolute input index `base` on. */
  private pending = new Float32Array(0);
  private base = 0;
  private received = 0;
  private emitted = 0;
  private flushed = false;

  constructor(readonly fromRate: number, readonly toRate: number) {
    this.filter = new ResamplingFilter(fromRate, toRate);
  }

  push(chunk: Float32Array): Float32Array {
    if (this.flushed) throw new Error('StreamingResampler: push() after flush()');
    this.received += chunk.length;
    if (this.fromRate === this.toRate) return chunk;
    const input = new Float32Array(this.pending.length + chunk.length);
    input.set(this.pending);
    input.set(chunk, this.pending.length);
    this.pending = input;
    let ready = this.emitted;
    while (this.filter.time(ready) + this.filter.span < this.received) ready++;
    return this.emit(ready);
  }

  /** The outputs that still wait for input after the stream's end, reading zeros there, as `resample` does. */
  flush(): Float32Array {
    const again = this.flushed;
    this.flushed = true;
    if (again || this.fromRate === this.toRate) return new Float32Array(0);
    return this.emit(this.filter.outputLength(this.received));
  }

  private emit(end: number): Float32Array {
    const out = new Float32Array(Math.max(0, end - this.emitted));
    for (let i = 0; i < out.length; i++) out[i] = this.filter.at(this.pending, this.base, this.emitted + i);
    this.emitted += out.length;
    // Inputs before the next output's reach are never read again.
    const keepFrom = Math.min(this.received, Math.max(this.base, Math.ceil(this.filter.time(this.emitted) - this.filter.span)));
    this.pending = this.pending.slice(keepFrom - this.base);
    this.base = keepFrom;
    return out;
  }
}
