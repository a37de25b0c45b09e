// The PyTorch column (`--torch`): the same model and GEMM cases timed in PyTorch eager by bench/torch_bench.py
// (the network from src/export/python/ser_model.py, fp32, TF32 off, CUDA where present, else the CPU), run as
// a child process after our cases. The interpreter is the first of /usr/bin/python3 (Debian's python3-torch)
// and python3 on PATH that imports torch.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../src/model/config.js';
import type { TimingOptions } from './timing.js';

export type TorchCase =
  | { name: string; kind: 'train' | 'infer'; config: ModelConfig; batch: number }
  | { name: string; kind: 'gemm'; m: number; n: number; k: number; op: 'fwd' | 'bwdA' | 'bwdB' };

export interface TorchRun {
  python: string;
  torch: string;
  device: string;
  threads: number;
  /** Median ms per run, by case name. */
  results: Record<string, number>;
  /** The cases that raised in PyTorch, with the first line of their error: the others are still timed. */
  failed?: Record<string, string>;
}

const PYTHONS = ['/usr/bin/python3', 'python3'];

/** The interpreter that imports torch, or why there is none. */
export function torchPython(): { python: string } | { missing: string } {
  for (const python of PYTHONS) {
    if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return { python };
  }
  return { missing: `none of ${PYTHONS.join(', ')} can import torch (Debian: apt-get install python3-torch)` };
}

/** bench/torch_bench.py, found from this module (bench/ in the source, dist/bench/ when built). */
function script(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const path = join(dir, 'bench', 'torch_bench.py');
    if (existsSync(path)) return path;
  }
  throw new Error('bench/torch_bench.py not found above this module');
}

/** The GEMM cases of cases-kernels.ts by name ("gemm.bwdA 256^3"), for PyTorch's side. */
export function gemmTorchCase(name: string): TorchCase | null {
  const m = /^gemm\.(fwd|bwdA|bwdB) (\d+)\^3$/.exec(name);
  return m ? { name, kind: 'gemm', m: Number(m[2]), n: Number(m[2]), k: Number(m[2]), op: m[1] as 'fwd' | 'bwdA' | 'bwdB' } : null;
}

/** Times `cases` in PyTorch, stopping the script after `timeoutMs` (none where Infinity); throws with its status
 * when it fails. */
export function runTorch(python: string, cases: TorchCase[], timing: TimingOptions, timeoutMs = Infinity): TorchRun {
  const input = JSON.stringify({ timing: { repeats: timing.repeats, minSampleMs: timing.minSampleMs, budgetMs: timing.budgetMs }, cases });
  // stderr (a line per case) goes to our stderr as it comes: a CPU run of the m5 model takes minutes.
  const timeout = Number.isFinite(timeoutMs) ? Math.max(1, Math.floor(timeoutMs)) : undefined; // whole ms, as spawnSync takes them
  const r = spawnSync(python, [script()], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'], maxBuffer: 1 << 24, timeout });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') throw new Error(`${python} bench/torch_bench.py stopped after ${timeout! / 1000} s`);
  if (r.status !== 0) throw new Error(`${python} bench/torch_bench.py failed (${r.status ?? r.signal})`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { python, ...(JSON.parse(last) as Omit<TorchRun, 'python'>) };
}
