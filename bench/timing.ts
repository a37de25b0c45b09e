// Timing a GPU workload the same way for both engines: `run` records one instance of the work (inputs already
// on the device, outputs released), `sync` submits and waits for the queue. A sample is k runs then one sync,
// divided by k: k = 1 for work that takes at least `minSampleMs`, more for tiny work, where a lone sync's
// round trip would otherwise be most of what is measured. The result is the median sample.
// Slow work (a CPU adapter) gets fewer samples: no more are started once `budgetMs` would be exceeded.

export interface TimingOptions {
  /** Untimed runs first (pipeline compilation, tfjs's lazy uploads); 0 where a check has just run the work. */
  warmup: number;
  repeats: number;
  /** Shortest sample worth timing alone; shorter work is batched (k > 1). */
  minSampleMs: number;
  /** Time allowed for the samples of one case on one engine (at least one sample is taken). */
  budgetMs: number;
}

export const FULL_TIMING: TimingOptions = { warmup: 1, repeats: 7, minSampleMs: 20, budgetMs: 5_000 };
export const QUICK_TIMING: TimingOptions = { warmup: 1, repeats: 2, minSampleMs: 5, budgetMs: 1_000 };

export interface Timing {
  /** Median milliseconds per run. */
  ms: number;
  /** Runs per sample (k). */
  batch: number;
  samples: number[];
}

export async function measure(run: () => void | Promise<void>, sync: () => Promise<void>, o: TimingOptions): Promise<Timing> {
  const once = async () => {
    const t0 = performance.now();
    await run();
    await sync();
    return performance.now() - t0;
  };
  for (let i = 0; i < o.warmup; i++) await once();
  const started = performance.now();
  // The first timed run sizes the batch; when it is long enough to stand alone it is also the first sample.
  const first = await once();
  const batch = first >= o.minSampleMs ? 1 : Math.min(64, Math.ceil(o.minSampleMs / Math.max(first, 0.01)));
  const samples: number[] = batch === 1 ? [first] : [];
  let estimate = first * batch;
  while (samples.length < o.repeats && performance.now() - started + estimate <= o.budgetMs) {
    const t0 = performance.now();
    for (let j = 0; j < batch; j++) await run();
    await sync();
    const elapsed = performance.now() - t0;
    samples.push(elapsed / batch);
    estimate = elapsed;
  }
  if (samples.length === 0) samples.push(first);
  return { ms: median(samples), batch, samples };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
