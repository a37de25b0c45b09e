// Timing a GPU workload the same way for both engines: `run` records one instance of the work (inputs already
// on the device, outputs released), `sync` submits and waits for the queue. A sample is k runs then one sync,
// divided by k: k = 1 for work that takes at least `minSampleMs`, more for tiny work, where a lone sync's
// round trip would otherwise be most of what is measured. The result is the median sample after warm-up.

export interface TimingOptions {
  warmup: number;
  repeats: number;
  /** Shortest sample worth timing alone; shorter work is batched (k > 1). */
  minSampleMs: number;
  /** Stop taking samples past this much time (at least two samples are taken). */
  budgetMs: number;
}

export const FULL_TIMING: TimingOptions = { warmup: 1, repeats: 5, minSampleMs: 20, budgetMs: 10_000 };
export const QUICK_TIMING: TimingOptions = { warmup: 1, repeats: 2, minSampleMs: 5, budgetMs: 3_000 };

export interface Timing {
  /** Median milliseconds per run. */
  ms: number;
  /** Runs per sample (k). */
  batch: number;
  samples: number[];
}

export async function measure(run: () => void | Promise<void>, sync: () => Promise<void>, o: TimingOptions): Promise<Timing> {
  let once = Infinity;
  for (let i = 0; i < Math.max(1, o.warmup); i++) {
    const t0 = performance.now();
    await run();
    await sync();
    once = Math.min(once, performance.now() - t0);
  }
  const batch = once >= o.minSampleMs ? 1 : Math.min(64, Math.ceil(o.minSampleMs / Math.max(once, 0.01)));
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < o.repeats && (samples.length < 2 || performance.now() - started < o.budgetMs)) {
    const t0 = performance.now();
    for (let j = 0; j < batch; j++) await run();
    await sync();
    samples.push((performance.now() - t0) / batch);
  }
  return { ms: median(samples), batch, samples };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
