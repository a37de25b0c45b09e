// Running PyTorch beside the engine in tests: Debian's python3-torch (scripts/setup.sh installs it), called as a
// child process, and the relative L2 error the parity tests compare with.

import { spawnSync } from 'node:child_process';

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

