// The benchmark's child processes (dist/bench/<name>.js: cold-start.js, host-split.js): each measures in a
// fresh process and prints one JSON object as its last stdout line; an error's stack goes to stderr.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTuning } from '../src/cli/tuning-file.js';
import type { Engine } from '../src/index.js';
import { MODEL_PRESETS, type ModelPreset } from '../src/model/config.js';
import { startEngine } from './gpu.js';

export type BenchChild = 'cold-start' | 'host-split';

/** dist/bench/<name>.js, found from this module (bench/ in the source, dist/bench/ when built). */
export function benchChildScript(name: BenchChild): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    for (const path of [join(dir, `${name}.js`), join(dir, 'dist', 'bench', `${name}.js`)]) if (existsSync(path)) return path;
  }
  throw new Error(`dist/bench/${name}.js not found (run node scripts/build.mjs)`);
}

/** Spawns one child; returns the parent's clock at the spawn and the child's JSON; throws with its error on failure. */
export function spawnBenchChild<T>(name: BenchChild, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ spawned: number; result: T }> {
  const script = benchChildScript(name);
  return new Promise((resolve, reject) => {
    const spawned = performance.timeOrigin + performance.now();
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) return resolve({ spawned, result: JSON.parse(last) as T });
      // The child prints the error's stack: its first line says what went wrong (Dawn's warnings come before).
      const lines = err.trim().split('\n');
      const why = lines.find((l) => /^\w*Error\b/.test(l)) ?? (lines.slice(-3).join(' | ') || `no result on stdout (${out.length} bytes)`);
      const status = child.killed ? `killed after ${timeoutMs / 1000} s` : `exit ${code ?? signal}`;
      reject(new Error(`${name} ${args.join(' ')}: ${status}: ${why}`));
    });
  });
}

/** Reads `--flag value` pairs and bare switches of a child's command line. */
export function childArgs(name: BenchChild, argv: string[], accept: (flag: string, value: string | undefined) => 0 | 1 | null): void {
  for (let i = 0; i < argv.length; i++) {
    const taken = accept(argv[i], argv[i + 1]);
    if (taken === null) throw new Error(`${name}: bad argument "${argv[i]}${argv[i + 1] === undefined ? '' : ` ${argv[i + 1]}`}"`);
    i += taken;
  }
}

/** The training step a child runs: the model preset, the batch, and tuning (null: the engine's default, on for
 * GPUs and off for CPU drivers). */
export interface StepArgs {
  preset: ModelPreset;
  batch: number;
  tune: boolean | null;
}

/** Takes --preset P, --batch B and --tune/--no-tune into `a` (for childArgs): the values taken, or null. */
export function stepArg(a: StepArgs, flag: string, v: string | undefined): 0 | 1 | null {
  if (flag === '--tune' || flag === '--no-tune') return (a.tune = flag === '--tune'), 0;
  if (flag === '--preset' && v !== undefined && v in MODEL_PRESETS) return (a.preset = v as ModelPreset), 1;
  if (flag === '--batch' && Number.isInteger(Number(v)) && Number(v) > 0) return (a.batch = Number(v)), 1;
  return null;
}

/** Our engine for a child's training step: tuning as `tune` says (null: the engine's default), with the choices
 * saved in $SER_WEBGPU_CACHE/tuning.json loaded where it is on; `cachedChoices` says how many there were. */
export async function startStepEngine(tune: boolean | null): Promise<{ engine: Engine; cachedChoices: number }> {
  const engine = await startEngine();
  const tuner = engine.runtime!.tuner;
  if (tune !== null) tuner.enabled = tune;
  return { engine, cachedChoices: tuner.enabled ? await loadTuning(engine) : 0 };
}
