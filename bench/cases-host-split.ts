// Host split (`--host-split`): of a training step's host time, our own share (autograd, the kernels' set-up, the
// runtime's caches) and Dawn's and the driver's (the rest), per model preset and batch of the training rows.
// Each row is one child process, dist/bench/host-split.js (bench/host-split.ts, which says how it measures),
// started after the main run has saved its tuning choices, so that it runs the same kernels.

import type { ModelPreset } from '../src/model/config.js';
import { spawnBenchChild } from './child.js';
import type { HostSplit } from './host-split.js';

export interface HostSplitRow extends HostSplit {
  name: string;
  preset: ModelPreset;
  batch: number;
}

export type HostSplitResult = HostSplitRow | { name: string; failed: string };

/** One row per preset and batch, in order; `tune` is the bench's --tune/--no-tune (null: the engine's default). */
export async function hostSplitRows(steps: { preset: ModelPreset; batch: number }[], tune: boolean | null, timeoutMs: number, onRow: (r: HostSplitResult) => void): Promise<HostSplitResult[]> {
  const rows: HostSplitResult[] = [];
  for (const { preset, batch } of steps) {
    const name = `host split ${preset} (batch ${batch})`;
    const args = ['--preset', preset, '--batch', String(batch), ...(tune === null ? [] : [tune ? '--tune' : '--no-tune'])];
    try {
      const { result } = await spawnBenchChild<HostSplit>('host-split', args, process.env, timeoutMs);
      rows.push({ name, preset, batch, ...result });
    } catch (e) {
      rows.push({ name, failed: (e as Error).message });
    }
    onRow(rows[rows.length - 1]);
  }
  return rows;
}

const COLUMNS: [string, number][] = [['case', 40], ['dispatches', 12], ['host ms', 10], ['ours ms', 10], ['ours µs each', 14], ['Dawn µs each', 14]];

export function hostSplitHeader(): string {
  const head = COLUMNS.map(([title, width], i) => (i ? title.padStart(width) : title.padEnd(width))).join('');
  return `${head}\n${'-'.repeat(head.length)}`;
}

export function hostSplitLine(r: HostSplitResult): string {
  if ('failed' in r) return `${r.name.padEnd(COLUMNS[0][1])}FAILED: ${r.failed}`;
  const perDispatch = (ms: number) => ((ms * 1000) / r.dispatches).toFixed(1);
  const cells = [String(r.dispatches), r.hostMs.toFixed(3), r.ownMs.toFixed(3), perDispatch(r.ownMs), perDispatch(r.hostMs - r.ownMs)];
  return r.name.padEnd(COLUMNS[0][1]) + cells.map((c, i) => c.padStart(COLUMNS[i + 1][1])).join('');
}

/** The rows for the JSON, milliseconds to 1 µs. */
export function hostSplitJson(rows: HostSplitResult[]): HostSplitResult[] {
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return rows.map((r) => ('failed' in r ? r : { ...r, hostMs: round(r.hostMs), ownMs: round(r.ownMs) }));
}
