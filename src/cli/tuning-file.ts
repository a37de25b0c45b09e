// Node only (the CLI and the benchmark): the tuner's choices kept in one JSON file, one entry per adapter
// (src/gpu/tuning-store.ts: the entries, and a page's counterpart in localStorage), so that a tuning run is paid
// once per machine. The file is $SER_WEBGPU_CACHE/tuning.json, else $XDG_CACHE_HOME/ser-webgpu/tuning.json
// (an absolute one), else ~/.cache/ser-webgpu/tuning.json. A missing or unreadable file means nothing is tuned
// yet; it is rewritten atomically.

import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { Engine } from '../engine/context.js';
import { parseTuningEntries, savedChoices, tuningKey, type TuningEntries } from '../gpu/tuning-store.js';

export function tuningPath(): string {
  const env = process.env;
  // An empty variable is unset (`XDG_CACHE_HOME= ser train` put ser-webgpu/ in the working folder), and the XDG
  // spec has relative paths in XDG_CACHE_HOME ignored.
  const xdg = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  const dir = env.SER_WEBGPU_CACHE || join(xdg, 'ser-webgpu');
  return join(dir, 'tuning.json');
}

async function readTuningFile(path: string): Promise<TuningEntries> {
  return parseTuningEntries(await readFile(path, 'utf8').catch(() => null));
}

/** Loads this adapter's saved choices into the engine's tuner; returns how many there were. */
export async function loadTuning(engine: Engine, path = tuningPath()): Promise<number> {
  if (!engine.runtime) return 0;
  const saved = savedChoices(await readTuningFile(path), engine.adapter!);
  engine.runtime.tuner.load(saved);
  return Object.keys(saved).length;
}

/** Saves the tuner's choices for this adapter, keeping other adapters' entries. */
export async function saveTuning(engine: Engine, path = tuningPath()): Promise<void> {
  if (!engine.runtime) return;
  const file = await readTuningFile(path);
  file[tuningKey(engine.adapter!)] = engine.runtime.tuner.choices();
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(file, null, 1) + '\n'));
}
