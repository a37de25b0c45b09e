// What the parity tests share: PyTorch beside the engine (Debian's python3-torch, which scripts/setup.sh
// installs, called as a child process), real EMO-DB windows as inputs, and the relative L2 error they compare.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAudio, windowAt } from '../src/audio/index.js';
import { GENDERS } from '../src/model/ser-model.js';
import { EMODB_CLASSES, parseEmodbName } from '../src/train/corpora/emodb.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const EMODB = join(ROOT, '../shared/data/emodb');
export { EMODB_CLASSES };

/** Why the EMO-DB windows are not at hand, or '' when they are. */
export function emodbMissing(): string {
  return existsSync(join(EMODB, 'labels.csv')) ? '' : `EMO-DB not found at ${EMODB}`;
}

/** Debian's python3 (another python3 on PATH may lack torch). */
export const PYTHON = '/usr/bin/python3';

/** Why PyTorch tests cannot run here, or '' when they can. */
export function torchMissing(): string {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0 ? '' : `${PYTHON} cannot import torch (scripts/setup.sh installs Debian's python3-torch)`;
}
/** ||a − b|| / ||b||: how far our values are from PyTorch's, relative to their size. */
export function relL2(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  if (ours.length !== theirs.length) return Infinity;
  let d = 0;
  let n = 0;
  for (let i = 0; i < ours.length; i++) {
    d += (ours[i] - theirs[i]) ** 2;
    n += theirs[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-30);
}

/** Runs the PyTorch side; its stderr is the failure message. */
export function runPython(args: string[], timeout = 120_000): void {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
}


/** One window of each of n EMO-DB utterances (speakers and emotions mixed), level-normalised as loaded: from
 * the utterance's middle, where there is speech (digital silence at the edges gives exactly tied activations). */
export async function emodbWindows(n: number, windowSamples: number): Promise<{ windows: Float32Array[]; labels: number[]; genders: number[] }> {
  const rows = readFileSync(join(EMODB, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const out = { windows: [] as Float32Array[], labels: [] as number[], genders: [] as number[] };
  // Every 23rd file (of 535, so all differ) walks across speakers and emotions (the list is sorted by speaker).
  for (let i = 0; out.windows.length < n; i += 23) {
    const [file] = rows[i % rows.length];
    // Labelled as `ser train` labels EMO-DB: from the file name (test/corpora.test.ts checks labels.csv agrees).
    const { emotion, gender } = parseEmodbName(file)!;
    const samples = await loadAudio(join(EMODB, file), 16000);
    const start = Math.max(0, Math.floor((samples.length - windowSamples) / 2));
    out.windows.push(windowAt(samples, start, windowSamples));
    out.labels.push(EMODB_CLASSES.indexOf(emotion));
    out.genders.push(GENDERS.indexOf(gender));
  }
  return out;
}
