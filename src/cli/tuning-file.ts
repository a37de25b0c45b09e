// Node only (the CLI and the benchmark): the tuner's choices kept in one JSON file, one entry per adapter, so
// that a tuning run is paid once per machine. The file is $SER_WEBGPU_CACHE/tuning.json, else
// $XDG_CACHE_HOME/ser-webgpu/tuning.json, else ~/.cache/ser-webgpu/tuning.json. A missing or unreadable file
// means nothing is tuned yet; it is rewritten atomically.

import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { Engine } from '../engine/context.js';
import { TUNING_VERSION } from '../gpu/tuner.js';

type TuningFile = Record<string, Record<string, string>>;

export function tuningPath(): string {
  const env = process.env;
  const dir = env.SER_WEBGPU_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ser-webgpu');
  return join(dir, 'tuning.json');
}

/** The file's key for this adapter (and this version of the candidate lists). */
function adapterKey(engine: Engine): string {
  const a = engine.adapter!;
  return `v${TUNING_VERSION} ${a.vendor} / ${a.architecture} / ${a.device} / ${a.description}`;
}

async function readTuningFile(path: string): Promise<TuningFile> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8'));
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** Loads this adapter's saved choices into the engine's tuner; returns how many there were. */
export async function loadTuning(engine: Engine, path = tuningPath()): Promise<number> {
  if (!engine.runtime) return 0;
  const saved = (await readTuningFile(path))[adapterKey(engine)] ?? {};
  engine.runtime.tuner.load(saved);
  return Object.keys(saved).length;
}

/** Saves the tuner's choices for this adapter, keeping other adapters' entries. */
export async function saveTuning(engine: Engine, path = tuningPath()): Promise<void> {
  if (!engine.runtime) return;
  const file = await readTuningFile(path);
  file[adapterKey(engine)] = engine.runtime.tuner.choices();
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(file, null, 1) + '\n'));
}
