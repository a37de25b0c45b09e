// The performance targets of issue #11 ("GPU training speed", its Done means), checked against a benchmark
// run: printed after every run, and for a saved run by `npm run bench -- --targets bench/results/<file>.json`,
// so that a GPU run says at once which targets it meets. The issue sets the GPU targets on an H100; another GPU
// is checked against the same numbers (the verdict then says which GPU it was).

import { readFileSync } from 'node:fs';
import { isCpuAdapter } from '../src/gpu/device.js';
import type { BenchJson } from './report.js';
import type { TorchRun } from './torch.js';

/** Per default-model training step, on every adapter. */
const MAX_DISPATCHES = 60;
const MAX_HOST_US_PER_DISPATCH = 30;
/** Training step at batch 16 on a GPU, ms: the default model within 2× PyTorch eager (3.28 ms on the H100). */
const MAX_STEP_MS: Record<string, number> = { default: 6.5, compact: 4 };
/** Inference at most this many times PyTorch's time, on a GPU. */
const MAX_INFERENCE_PER_TORCH = 1.2;
/** GEMM 4096³, every pass, on a GPU: 80 % of cuBLAS fp32. */
const MIN_GEMM_TFLOPS = 40;
/** tfjs/ours of every case with a tfjs twin. */
const MIN_TFJS_RATIO = { gpu: 1.5, cpu: 3 };

export interface TargetCheck {
  target: string;
  /** The row (or rows) measured, and the value. */
  measured: string;
  /** null: not measured by this run (a filtered run, or a target for the other kind of adapter). */
  met: boolean | null;
}

type Result = Extract<BenchJson['results'][number], { ms: number }>;

const fixed = (v: number, digits = 2) => v.toFixed(digits);
/** `v` beside its target's bound: with more digits where the usual ones would round it onto the bound (1.4995×
 * tfjs printed as 1.50× beside 'NOT MET ≥ 1.5×'), so a figure never reads as meeting a target it misses. Every
 * bound here lies on its figure's grid, so rounding can reach the bound but not pass it. */
const beside = (v: number, bound: number, digits = 2) => {
  let text = fixed(v, digits);
  while (Number(text) === bound && v !== bound && digits < 6) text = fixed(v, ++digits);
  return text;
};

/** Each target of the issue against `run`'s rows (and the PyTorch cases that failed, run.torch.failed). */
export function checkTargets(run: BenchJson & { torch?: Pick<TorchRun, 'failed'> | { missing: string } }): TargetCheck[] {
  const gpu = !isCpuAdapter({ ...run.adapter, device: run.adapter.device ?? '' });
  const rows = run.results.filter((r): r is Result => r.ms !== null);
  const row = (name: string) => rows.find((r) => r.name === name);
  const checks: TargetCheck[] = [];
  const notMeasured = (target: string, why = 'not in this run') => checks.push({ target, measured: why, met: null });

  const steps = rows.filter((r) => r.name.startsWith('train step default (') && typeof r.dispatches === 'number');
  if (!steps.length) notMeasured(`train step default: ≤ ${MAX_DISPATCHES} dispatches, ≤ ${MAX_HOST_US_PER_DISPATCH} µs host per dispatch`);
  for (const r of steps) {
    const dispatches = r.dispatches as number;
    const hostUs = r.hostUsPerDispatch as number;
    checks.push({ target: `${r.name}: ≤ ${MAX_DISPATCHES} dispatches`, measured: `${dispatches}`, met: dispatches <= MAX_DISPATCHES });
    checks.push({ target: `${r.name}: ≤ ${MAX_HOST_US_PER_DISPATCH} µs host per dispatch`, measured: `${beside(hostUs, MAX_HOST_US_PER_DISPATCH, 1)} µs`, met: hostUs <= MAX_HOST_US_PER_DISPATCH });
  }

  for (const [preset, limit] of Object.entries(MAX_STEP_MS)) {
    const target = `train step ${preset} (batch 16): ≤ ${limit} ms`;
    const r = row(`train step ${preset} (batch 16)`);
    if (!gpu) notMeasured(target, 'a GPU target');
    else if (!r) notMeasured(target);
    else checks.push({ target, measured: `${beside(r.ms, limit)} ms`, met: r.ms <= limit });
  }

  const inference = rows.filter((r) => r.name.startsWith('inference ') && typeof r.torchMs === 'number');
  // An inference row whose PyTorch case failed has no PyTorch time: its target is unjudged, and says why.
  const torchFailed = Object.entries((run.torch && 'failed' in run.torch ? run.torch.failed : undefined) ?? {}).filter(([name]) => name.startsWith('inference ') && row(name));
  const inferenceTarget = `inference: ≤ ${MAX_INFERENCE_PER_TORCH}× PyTorch's time`;
  if (!gpu) notMeasured(inferenceTarget, 'a GPU target');
  else if (!inference.length && !torchFailed.length) notMeasured(inferenceTarget, 'no PyTorch column in this run (--torch)');
  for (const r of gpu ? inference : []) {
    const perTorch = r.ms / (r.torchMs as number);
    checks.push({ target: `${r.name}: ≤ ${MAX_INFERENCE_PER_TORCH}× PyTorch's time`, measured: `${beside(perTorch, MAX_INFERENCE_PER_TORCH)}× (${fixed(r.ms, 3)} / ${fixed(r.torchMs as number, 3)} ms)`, met: perTorch <= MAX_INFERENCE_PER_TORCH });
  }
  for (const [name, error] of gpu ? torchFailed : []) notMeasured(`${name}: ≤ ${MAX_INFERENCE_PER_TORCH}× PyTorch's time`, `no PyTorch time (PyTorch failed: ${error})`);

  for (const pass of ['fwd', 'bwdA', 'bwdB']) {
    const target = `gemm.${pass} 4096^3: ≥ ${MIN_GEMM_TFLOPS} TFLOP/s`;
    const r = row(`gemm.${pass} 4096^3`);
    if (!gpu) notMeasured(target, 'a GPU target');
    else if (!r || typeof r.gflops !== 'number') notMeasured(target);
    else checks.push({ target, measured: `${beside(r.gflops / 1000, MIN_GEMM_TFLOPS, 1)} TFLOP/s`, met: r.gflops >= 1000 * MIN_GEMM_TFLOPS });
  }

  const minRatio = gpu ? MIN_TFJS_RATIO.gpu : MIN_TFJS_RATIO.cpu;
  const twins = rows.filter((r) => r.ratio !== null);
  // A case at which tfjs failed has a twin but no ratio: while one is unmeasured, the target is not met, only
  // unjudged (or missed by another case), and the line names the case.
  const unmeasured = rows.filter((r) => typeof r.tfjsFailed === 'string');
  const noRatio = unmeasured.map((r) => `no tfjs ratio: ${r.name} (tfjs failed: ${r.tfjsFailed})`).join('; ');
  const ratioTarget = `every case with a tfjs twin: ≥ ${minRatio}× tfjs`;
  if (!twins.length) notMeasured(ratioTarget, noRatio || 'no tfjs column in this run');
  else {
    const short = twins.filter((r) => (r.ratio as number) < minRatio);
    const worst = twins.reduce((a, b) => ((b.ratio as number) < (a.ratio as number) ? b : a));
    // A ratio with the spread of its rounds, where the run recorded it: whether the machine's noise straddles the target.
    const ratio = (r: Result) => `${r.name} ${beside(r.ratio as number, minRatio)}×${Array.isArray(r.ratioRange) ? ` (by round ${r.ratioRange.map((v) => beside(v, minRatio)).join('-')}×)` : ''}`;
    // A short case beside the run's dispatch floor (cases-kernels.ts): whether the kernel or the fixed cost of any
    // dispatch falls short.
    const floor = rows.find((r) => r.name.startsWith('dispatch.floor'));
    const shortOne = (r: Result) => ratio(r) + (floor ? `, ours ${fixed(r.ms, 3)} ms: ${fixed(r.ms / floor.ms, 1)}× ${floor.name}'s ${fixed(floor.ms, 3)}` : '');
    const all = twins.length + unmeasured.length;
    const measured = short.length ? `${twins.length - short.length} of ${all}; short: ${short.map(shortOne).join('; ')}` : `${twins.length} of ${all}; closest ${ratio(worst)}`;
    checks.push({ target: ratioTarget, measured: noRatio ? `${measured}; ${noRatio}` : measured, met: short.length ? false : unmeasured.length ? null : true });
  }
  return checks;
}

/** A run's JSON as this benchmark wrote it (bench-<adapter>.json), or an error that names the file. */
export function readBenchJson(file: string): BenchJson {
  let run: Partial<BenchJson>;
  try {
    run = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--targets: cannot read ${file}: ${(e as Error).message}`);
  }
  if (!run || typeof run !== 'object' || !run.adapter || !Array.isArray(run.results)) throw new Error(`--targets: ${file} is not a benchmark run's JSON (no adapter and results)`);
  return run as BenchJson;
}

/** The adapter as the run's JSON names it, with the GPU's name: the adapter's device, or in runs saved without it
 * the one PyTorch reported (Dawn's description of an NVIDIA adapter is the driver's version alone). */
function adapterName(run: BenchJson & { torch?: { device?: string } }): string {
  const described = run.adapter.description || run.adapter.vendor;
  const torchDevice = run.torch?.device === 'cpu' ? undefined : run.torch?.device;
  const device = run.adapter.device || torchDevice;
  return device ? `${device} (${described})` : described;
}

/** The checks as lines: "met", "NOT MET" or "—" (not measured), the target, what was measured. */
export function targetLines(run: BenchJson, checks: TargetCheck[]): string[] {
  const verdict = (c: TargetCheck) => (c.met === null ? '—' : c.met ? 'met' : 'NOT MET');
  const open = checks.filter((c) => c.met === false).length;
  // Said in the headline too: "every measured one met" read as all met while a target was not judged at all.
  const unjudged = checks.filter((c) => c.met === null).length;
  return [
    `issue #11's targets on ${adapterName(run)} (${run.date}): ${open ? `${open} not met` : 'every measured one met'}${unjudged ? `, ${unjudged} not judged (—)` : ''}`,
    ...checks.map((c) => `  ${verdict(c).padEnd(8)}${c.target.padEnd(70)}  ${c.measured}`),
  ];
}
