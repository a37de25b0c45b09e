// Timing GPU workloads the same way for both engines: `run` records one instance of the work (inputs already
// on the device, outputs released), `sync` submits and waits for the queue. A sample is k runs then one sync,
// divided by k: k = 1 for work that takes at least `minSampleMs`, more for tiny work, where a lone sync's
// round trip would otherwise be most of what is measured. The result is the median sample.
// The engines' samples alternate (ours, tfjs, ours, ...), so a change in the machine's load hits both alike.
// Slow work (a CPU adapter) gets fewer samples: no round is started once `budgetMs` per engine would be exceeded.

import { readFileSync } from 'node:fs';

export interface TimingOptions {
  /** Untimed runs first (pipeline compilation, tfjs's lazy uploads); 0 where a check has just run the work. */
  warmup: number;
  repeats: number;
  /** Shortest sample worth timing alone; shorter work is batched (k > 1). */
  minSampleMs: number;
  /** Time allowed for the samples of one case on one engine (at least one sample is taken). */
  budgetMs: number;
}

/** Most runs in one sample. */
const MAX_BATCH = 4096;

export const FULL_TIMING: TimingOptions = { warmup: 1, repeats: 7, minSampleMs: 100, budgetMs: 5_000 };
export const QUICK_TIMING: TimingOptions = { warmup: 1, repeats: 2, minSampleMs: 5, budgetMs: 1_000 };

export interface Workload {
  run(): void | Promise<void>;
  sync(): Promise<void>;
}

export interface Timing {
  /** Median milliseconds per run. */
  ms: number;
  /** Runs per sample (k). */
  batch: number;
  samples: number[];
  /** The round of each sample (0: the one that sized the batch, taken when one run filled it). */
  rounds: number[];
}

async function sample(w: Workload, runs: number): Promise<number> {
  const t0 = performance.now();
  for (let j = 0; j < runs; j++) await w.run();
  await w.sync();
  return performance.now() - t0;
}

/** Times each workload (in the order given, alternating); returns one Timing per workload. */
export async function measure(workloads: Workload[], o: TimingOptions): Promise<Timing[]> {
  for (const w of workloads) for (let i = 0; i < o.warmup; i++) await sample(w, 1);
  const started = performance.now();
  const state = [];
  for (const w of workloads) {
    // The batch grows until a sample lasts minSampleMs: a queue sync's round trip (a few ms with dawn.node
    // here) is in every sample, and only long samples make it negligible for sub-millisecond work (at 20 ms,
    // the classifier's smallest GEMMs timed at twice their 100 ms figure). When one run is long enough to
    // stand alone it is also the first sample; then a second run is taken and the shorter decides, since one
    // long run may be a stall (a compile, a collection) rather than the work: on the H100 one had a 0.08 ms
    // kernel timed a run a sample, its queue round trip included (0.67 ms).
    let first = await sample(w, 1);
    if (first >= o.minSampleMs) first = Math.min(first, await sample(w, 1));
    // The batch grows by the fastest rate seen so far, which a stall cannot inflate (a sample with one stopped
    // growth where it happened: another kernel on the H100 was timed 16 runs a sample, at 2.4× its time).
    let batch = 1;
    let last = first;
    let perRun = first;
    while (batch * perRun < o.minSampleMs && batch < MAX_BATCH) {
      batch = Math.min(MAX_BATCH, Math.ceil(batch * Math.min(16, (1.25 * o.minSampleMs) / Math.max(batch * perRun, 0.01))));
      last = await sample(w, batch);
      perRun = Math.min(perRun, last / batch);
    }
    state.push({ w, first, batch, samples: batch === 1 ? [first] : [], rounds: batch === 1 ? [0] : [], last });
  }
  const budget = o.budgetMs * workloads.length;
  for (let round = 1; ; round++) {
    const pending = state.filter((s) => s.samples.length < o.repeats);
    const roundMs = pending.reduce((t, s) => t + s.last, 0);
    if (pending.length === 0 || performance.now() - started + roundMs > budget) break;
    for (const s of pending) {
      s.last = await sample(s.w, s.batch);
      s.samples.push(s.last / s.batch);
      s.rounds.push(round);
    }
  }
  return state.map((s) => {
    const [samples, rounds] = s.samples.length ? [s.samples, s.rounds] : [[s.first], [0]];
    return { ms: median(samples), batch: s.batch, samples, rounds };
  });
}

/** The lowest and highest of theirs/ours over the rounds in which both took a sample (`measure` alternates
 * them, so a round's two samples met the same load), or null under two such rounds: how far the machine's noise
 * moves the ratio of the medians. */
export function ratioByRound(ours: Timing, theirs: Timing): [number, number] | null {
  const ratios = ours.rounds.flatMap((round, i) => {
    const j = theirs.rounds.indexOf(round);
    return j < 0 ? [] : [theirs.samples[j] / ours.samples[i]];
  });
  return ratios.length < 2 ? null : [Math.min(...ratios), Math.max(...ratios)];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const parked = new Int32Array(new SharedArrayBuffer(4));

/** Milliseconds of CPU time the calling thread has used: the host's own cost, which neither the machine's other
 * load nor (on a CPU adapter) the driver's shader threads inflate. Linux gives it per thread in
 * /proc/thread-self/schedstat (nanoseconds on the CPU; Node 20 has no thread clock), but updates it only when
 * the thread is descheduled or at a timer tick (up to 4 ms stale): so the thread first sleeps for 0.2 ms,
 * which deschedules it and brings the figure up to date. Elsewhere null. */
export function threadCpuMs(): number | null {
  try {
    Atomics.wait(parked, 0, 0, 0.2);
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

/** Host cost: rounds of runs back to back (see measureHost); 10 runs, so that a garbage collection landing in a
 * round moves its mean less (rounds of 5 gave host figures 40 % apart for the same dispatches on the H200); the
 * median of 9 rounds, whose spread a row reports beside it. */
const HOST_RUNS = 10;
const HOST_ROUNDS = 9;

export interface HostCost {
  /** Median host milliseconds per run: recording and submitting the work, not executing it. */
  ms: number;
  /** The same for the run right after the queue went idle (each round's untimed first run, below): a step
   * recorded after a sync, where `ms` is of steps recorded behind work in flight. */
  afterIdleMs: number;
  /** The lowest and the highest round's milliseconds per run: how far the rounds spread around the median. */
  range: [number, number];
  /** 'thread-cpu': the JavaScript thread's CPU time (threadCpuMs); 'wall': performance.now() around the runs. */
  clock: 'thread-cpu' | 'wall';
}

/** The host side of a workload, as a training loop meets it: `runs` runs back to back (no sync between them,
 * so the garbage and the polling of a wait are not counted), timed together and divided by runs; the median
 * over `rounds` such rounds. Each round first makes one run after a sync, kept out of `ms` (it is `afterIdleMs`):
 * the first command recorded after the queue went idle wakes the driver (on lavapipe that first dispatch alone
 * takes 3-4 ms of the calling thread's CPU, more than the rest of a training step), which a training loop,
 * syncing once an epoch, meets once an epoch, not once a step. */
export async function measureHost(w: Workload, runs = HOST_RUNS, rounds = HOST_ROUNDS): Promise<HostCost> {
  const clock = threadCpuMs() === null ? 'wall' : 'thread-cpu';
  const now = clock === 'wall' ? () => performance.now() : () => threadCpuMs()!;
  const samples: number[] = [];
  const afterIdle: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await w.sync();
    const idle = now();
    await w.run();
    const t0 = now();
    afterIdle.push(t0 - idle);
    for (let i = 0; i < runs; i++) await w.run();
    samples.push((now() - t0) / runs);
  }
  await w.sync();
  return { ms: median(samples), afterIdleMs: median(afterIdle), range: [Math.min(...samples), Math.max(...samples)], clock };
}
