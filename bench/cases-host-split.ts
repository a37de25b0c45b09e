// Host split (`--host-split`): of a training step's host time, our own share (autograd, the kernels' set-up, the
// runtime's caches) and Dawn's and the driver's (the rest), per model preset and batch of the training rows.
// Each row is one child process, dist/bench/host-split.js (bench/host-split.ts, which says how it measures),
// started after the main run has saved its tuning choices, so that it runs the same kernels. On a CPU adapter
// each preset and batch also gets a row of ours on a GPU's kernels (`GPU path`, the child's `--gpu-path`): the host
// work a GPU run would do, measured where no GPU is.

import type { ModelPreset } from '../src/model/config.js';
import { childFailure, childTimeout } from './budget.js';
import { spawnBenchChild } from './child.js';
import type { HostSplit } from './host-split.js';

export interface HostSplitRow extends HostSplit {
  name: string;
  preset: ModelPreset;
  batch: number;
  /** Ours on a GPU's kernels (see above). */
  gpuPath?: true;
}

export type HostSplitResult = HostSplitRow | { name: string; failed: string };

interface HostSplitOptions {
  /** The bench's --tune/--no-tune (null: the engine's default). */
  tune: boolean | null;
  /** False: the bench's --no-capture (every step runs its JavaScript). Default true. */
  capture?: boolean;
  /** Each row followed by its GPU-path row (see above). */
  gpuPath: boolean;
  /** Per child. */
  timeoutMs: number;
  /** Asked before each row; the rows left when it says no are not run (the bench's --budget). */
  canStart?: () => boolean;
  /** Asked before each row: its child is stopped after at most this many ms (what is left of the bench's --budget). */
  budgetLeftMs?: () => number;
  /** Called with each row as it finishes. */
  onRow?: (r: HostSplitResult) => void;
}

/** One row per preset and batch, in order, each followed by its GPU-path row where `gpuPath`. */
export async function hostSplitRows(steps: { preset: ModelPreset; batch: number }[], o: HostSplitOptions): Promise<HostSplitResult[]> {
  const rows: HostSplitResult[] = [];
  const canStart = o.canStart ?? (() => true);
  for (const { preset, batch } of steps) {
    for (const onGpuPath of o.gpuPath ? [false, true] : [false]) {
      if (!canStart()) return rows;
      const name = `host split ${preset} (batch ${batch})${onGpuPath ? ' GPU path' : ''}`;
      const args = ['--preset', preset, '--batch', String(batch), ...(o.tune === null ? [] : [o.tune ? '--tune' : '--no-tune']), ...(o.capture === false ? ['--no-capture'] : []), ...(onGpuPath ? ['--gpu-path'] : [])];
      const timeout = childTimeout(o.timeoutMs, o.budgetLeftMs);
      try {
        const { result } = await spawnBenchChild<HostSplit>('host-split', args, process.env, timeout.timeoutMs);
        rows.push({ name, preset, batch, ...result, ...(onGpuPath ? { gpuPath: true as const } : {}) });
      } catch (e) {
        rows.push({ name, failed: childFailure(e, timeout) });
      }
      o.onRow?.(rows[rows.length - 1]);
    }
  }
  return rows;
}

// Per dispatch: ours alone (Dawn stubbed), Dawn's calls replayed alone, and the rest of the host time, which is
// what the two cost each other interleaved on one thread.
const COLUMNS: [string, number][] = [['case', 44], ['dispatches', 12], ['host ms', 10], ['ours ms', 10], ['ours µs each', 14], ['Dawn alone µs', 15], ['between µs', 12]];

export function hostSplitHeader(): string {
  const head = COLUMNS.map(([title, width], i) => (i ? title.padStart(width) : title.padEnd(width))).join('');
  return `${head}\n${'-'.repeat(head.length)}`;
}

export function hostSplitLine(r: HostSplitResult): string {
  if ('failed' in r) return `${r.name.padEnd(COLUMNS[0][1])}FAILED: ${r.failed}`;
  const perDispatch = (ms: number) => ((ms * 1000) / r.dispatches).toFixed(1);
  const { hostMs: host, dawnMs: dawn } = r;
  const cells = [String(r.dispatches), host === null ? '-' : host.toFixed(3), r.ownMs.toFixed(3), perDispatch(r.ownMs), dawn === null ? '-' : perDispatch(dawn), host === null || dawn === null ? '-' : perDispatch(host - r.ownMs - dawn)];
  return r.name.padEnd(COLUMNS[0][1]) + cells.map((c, i) => c.padStart(COLUMNS[i + 1][1])).join('');
}

/** The rows for the JSON, milliseconds to 1 µs. */
export function hostSplitJson(rows: HostSplitResult[]): HostSplitResult[] {
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  const orNull = (ms: number | null) => (ms === null ? null : round(ms));
  return rows.map((r) => ('failed' in r ? r : { ...r, hostMs: orNull(r.hostMs), dawnMs: orNull(r.dawnMs), ownMs: round(r.ownMs) }));
}
