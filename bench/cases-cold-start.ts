// Cold start (`--cold-start`): how long a fresh process takes from spawning `node` to its first finished
// training step (recorded, submitted and awaited), batch 16, for ours with an empty tuning cache (tuning
// included, where it is on), ours again with the cache the first process left (warm), and tfjs-webgpu. Each is
// one child process running dist/bench/cold-start.js (bench/cold-start.ts, which says what each instant is);
// the milliseconds are the child's instants less the parent's clock just before the spawn. The tuning cache is
// a temporary directory per preset ($SER_WEBGPU_CACHE), so the user's own cache is neither read nor written.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelPreset } from '../src/model/config.js';
import { childFailure, childTimeout } from './budget.js';
import { spawnBenchChild } from './child.js';
import type { ColdStartInstants } from './cold-start.js';
import { benchModelConfig } from './ser-ours.js';
import { tfjsImplements } from './cases-model.js';

/** The default model (ours only), and the m5 design, which tfjs's twin implements. */
export const COLD_START_PRESETS: ModelPreset[] = ['default', 'm5'];
export const COLD_START_BATCH = 16;
/** Longest a child may take by default: tfjs's m5 process on a CPU adapter takes about a minute; a GPU run
 * passes less (index.ts), so that a hung child cannot hold the GPU machine's session. */
const CHILD_TIMEOUT_MS = 300_000;

export interface ColdStartRow {
  name: string;
  engine: 'ours' | 'tfjs';
  preset: ModelPreset;
  batch: number;
  /** ours: the tuning cache the process started with; null for tfjs. */
  cache: 'empty' | 'warm' | null;
  tuning: boolean;
  /** From the spawn: the module loaded (Node and the bundle), the adapter and device ready, the first step done. */
  loadedMs: number;
  readyMs: number;
  firstStepMs: number;
  /** The second step alone: what the first would take without compilation (and tuning). */
  nextStepMs: number;
  /** ours: shapes tuned during the first step, and choices found in the cache at start. */
  tuned: number;
  cachedChoices: number;
  /** ours: the candidates those shapes had, and the ms their compiles and their trials took (Tuner.spent). */
  candidates: number;
  compileMs: number;
  trialMs: number;
}

export type ColdStartResult = ColdStartRow | { name: string; failed: string };

/** Spawns one cold-start child; returns the parent's clock at the spawn and the child's instants. */
export async function spawnColdStart(args: string[], env: NodeJS.ProcessEnv, timeoutMs = CHILD_TIMEOUT_MS): Promise<{ spawned: number; instants: ColdStartInstants }> {
  const { spawned, result } = await spawnBenchChild<ColdStartInstants>('cold-start', args, env, timeoutMs);
  return { spawned, instants: result };
}

interface ColdStartOptions {
  presets?: ModelPreset[];
  /** The bench's --tune/--no-tune (null: the engine's default). */
  tune: boolean | null;
  tfjs: boolean;
  /** Per child; CHILD_TIMEOUT_MS where absent. */
  timeoutMs?: number;
  /** Asked before each row; the rows left when it says no are not run (the bench's --budget). */
  canStart?: () => boolean;
  /** Asked before each row: its child is stopped after at most this many ms (what is left of the bench's --budget). */
  budgetLeftMs?: () => number;
  /** Called with each row as it finishes. */
  onRow?: (row: ColdStartResult) => void;
}

/** Per preset: ours with an empty tuning cache, ours with the cache it left, then tfjs where it has the preset. */
export async function coldStartRows(o: ColdStartOptions): Promise<ColdStartResult[]> {
  const rows: ColdStartResult[] = [];
  const add = (row: ColdStartResult) => {
    rows.push(row);
    o.onRow?.(row);
  };
  const tuneArgs = o.tune === null ? [] : [o.tune ? '--tune' : '--no-tune'];
  const canStart = o.canStart ?? (() => true);
  for (const preset of o.presets ?? COLD_START_PRESETS) {
    if (!canStart()) break;
    const cacheDir = await mkdtemp(join(tmpdir(), 'ser-cold-start-'));
    const env = { ...process.env, SER_WEBGPU_CACHE: cacheDir };
    const runs: { engine: 'ours' | 'tfjs'; cache: 'empty' | 'warm' | null }[] = [
      { engine: 'ours', cache: 'empty' },
      { engine: 'ours', cache: 'warm' },
      ...(o.tfjs && tfjsImplements(benchModelConfig(preset)) ? [{ engine: 'tfjs' as const, cache: null }] : []),
    ];
    try {
      for (const { engine, cache } of runs) {
        if (!canStart()) break;
        const name = `cold start ${engine} ${preset} (batch ${COLD_START_BATCH})${cache ? `, ${cache} tuning cache` : ''}`;
        const args = ['--engine', engine, '--preset', preset, '--batch', String(COLD_START_BATCH), ...(engine === 'ours' ? tuneArgs : [])];
        const timeout = childTimeout(o.timeoutMs ?? CHILD_TIMEOUT_MS, o.budgetLeftMs);
        try {
          const { spawned, instants: t } = await spawnColdStart(args, env, timeout.timeoutMs);
          const since = (instant: number) => instant - spawned;
          add({
            name,
            engine,
            preset,
            batch: COLD_START_BATCH,
            cache,
            tuning: t.tuning,
            loadedMs: since(t.loaded),
            readyMs: since(t.ready),
            firstStepMs: since(t.stepped),
            nextStepMs: t.steppedAgain - t.stepped,
            tuned: t.tuned,
            cachedChoices: t.cachedChoices,
            candidates: t.candidates,
            compileMs: t.compileMs,
            trialMs: t.trialMs,
          });
        } catch (e) {
          add({ name, failed: childFailure(e, timeout) });
        }
      }
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }
  return rows;
}

const COLUMNS: [string, number][] = [['case', 58], ['loaded ms', 11], ['ready ms', 11], ['first step ms', 15], ['next step ms', 14]];

export function coldStartHeader(): string {
  const head = COLUMNS.map(([title, width], i) => (i ? title.padStart(width) : title.padEnd(width))).join('') + '  tuning';
  return `${head}\n${'-'.repeat(head.length)}`;
}

export function coldStartLine(r: ColdStartResult): string {
  if ('failed' in r) return `${r.name.padEnd(COLUMNS[0][1])}FAILED: ${r.failed}`;
  const spent = r.tuned ? ` (${r.candidates} candidates: compiles ${seconds(r.compileMs)}, trials ${seconds(r.trialMs)})` : '';
  const tuning = r.engine === 'tfjs' ? '-' : r.tuning ? `on: ${r.cachedChoices} cached, ${r.tuned} tuned${spent}` : 'off';
  const cells = [r.loadedMs, r.readyMs, r.firstStepMs, r.nextStepMs].map((ms, i) => ms.toFixed(0).padStart(COLUMNS[i + 1][1]));
  return r.name.padEnd(COLUMNS[0][1]) + cells.join('') + `  ${tuning}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The rows for the JSON, milliseconds to 0.1. */
export function coldStartJson(rows: ColdStartResult[]): Record<string, unknown>[] {
  return rows.map((r) => {
    if ('failed' in r) return r as unknown as Record<string, unknown>;
    const round = (v: number) => Math.round(v * 10) / 10;
    return { ...r, loadedMs: round(r.loadedMs), readyMs: round(r.readyMs), firstStepMs: round(r.firstStepMs), nextStepMs: round(r.nextStepMs), compileMs: round(r.compileMs), trialMs: round(r.trialMs) };
  });
}
