// The benchmark's outputs: the terminal table (a row printed as each case finishes), the SVG charts
// (barChartSvg from src/io/svg-charts.ts) and the JSON object (`--json` prints it as the last line).

import type { KernelTime } from '../src/index.js';
import type { AdapterDescription } from '../src/gpu/device.js';
import { barChartSvg } from '../src/io/svg-charts.js';
import type { CaseResult } from './case.js';

export interface FailedCase {
  name: string;
  failed: string;
}

export type Row = CaseResult | FailedCase;

export const isFailed = (r: Row): r is FailedCase => 'failed' in r;

const NAME_WIDTH = 40;

function rate(r: CaseResult, who: 'ours' | 'tfjs'): string {
  const t = who === 'tfjs';
  const gflops = t ? r.tfjsGflops : r.gflops;
  const gbps = t ? r.tfjsGbps : r.gbps;
  const perSecond = r.extra?.[t ? 'tfjsUtterancesPerSecond' : 'utterancesPerSecond'];
  if (gflops !== undefined) return `${fixed(gflops)} GFLOP/s`;
  if (gbps !== undefined) return `${fixed(gbps)} GB/s`;
  if (perSecond !== undefined) return `${fixed(perSecond)} utt/s`;
  return '';
}

function fixed(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

function ms(v: number | null): string {
  return v === null ? '-' : v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function tableHeader(): string {
  const head = 'case'.padEnd(NAME_WIDTH) + 'ours ms'.padStart(11) + 'ours rate'.padStart(17) + 'tfjs ms'.padStart(11) + 'tfjs rate'.padStart(17) + 'tfjs/ours'.padStart(11);
  return `${head}\n${'-'.repeat(head.length)}`;
}

export function tableRow(r: Row): string {
  const name = r.name.length > NAME_WIDTH - 1 ? r.name.slice(0, NAME_WIDTH - 2) + '~' : r.name;
  if (isFailed(r)) return `${name.padEnd(NAME_WIDTH)}FAILED: ${r.failed}`;
  return (
    name.padEnd(NAME_WIDTH) +
    ms(r.ms).padStart(11) +
    rate(r, 'ours').padStart(17) +
    (r.tfjsFailed === undefined ? ms(r.tfjsMs) : 'failed').padStart(11) +
    (r.tfjsMs === null ? '' : rate(r, 'tfjs')).padStart(17) +
    (r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`).padStart(11) +
    (r.ratioRange ? `   by round ${r.ratioRange.map((v) => v.toFixed(2)).join('-')}x` : '') +
    (r.dispatches === undefined ? '' : `   ${r.dispatches} dispatches, host ${ms(r.hostMs ?? null)} ms = ${hostUsPerDispatch(r)!.toFixed(1)} µs each${spread(r)}`) +
    (r.tunedMs === undefined ? '' : `   tuner ${ms(r.tunedMs)} ms`) +
    (r.tfjsFailed === undefined ? '' : `   tfjs failed: ${r.tfjsFailed}`)
  );
}

/** The host rounds' spread and the run after an idle queue, in µs a dispatch, e.g.
 * " (rounds 16.2-21.0; after an idle queue 30.5)". */
function spread(r: CaseResult): string {
  if (!r.hostMsRange || !r.dispatches) return '';
  const perDispatch = (ms: number) => ((ms * 1000) / r.dispatches!).toFixed(1);
  const [low, high] = r.hostMsRange.map(perDispatch);
  return ` (rounds ${low}-${high}${r.hostAfterIdleMs === undefined ? '' : `; after an idle queue ${perDispatch(r.hostAfterIdleMs)}`})`;
}

/** Host microseconds per dispatch of a composite case. */
export function hostUsPerDispatch(r: CaseResult): number | undefined {
  return r.dispatches && r.hostMs !== undefined ? (r.hostMs * 1000) / r.dispatches : undefined;
}

/** Geometric mean of tfjs/ours over the cases that have both. */
export function geometricMeanRatio(rows: Row[]): number | null {
  const ratios = rows.filter((r): r is CaseResult => !isFailed(r) && r.ratio !== null && r.ratio > 0).map((r) => r.ratio!);
  return ratios.length ? Math.exp(ratios.reduce((s, v) => s + Math.log(v), 0) / ratios.length) : null;
}

export function adapterLabel(a: AdapterDescription | undefined): string {
  if (!a) return 'unknown adapter';
  return [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' / ');
}

/** A file-name-safe name for the adapter, e.g. "mesa-llvmpipe-llvm-15-0-6-256-bits". */
export function adapterSlug(a: AdapterDescription | undefined): string {
  const raw = a ? `${a.vendor}-${a.device || a.architecture || a.description}` : 'unknown';
  return raw.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'adapter';
}

export function ratioChart(rows: Row[], adapter: string): string | null {
  const done = rows.filter((r): r is CaseResult => !isFailed(r) && r.ratio !== null);
  if (done.length === 0) return null;
  return barChartSvg(
    { categories: done.map((r) => r.label), series: [{ name: 'tfjs time / our time (>1: ours faster)', values: done.map((r) => r.ratio) }] },
    { title: `ser-webgpu vs TensorFlow.js WebGPU — ${adapter}`, yLabel: 'speed-up over tfjs (x)', formatValue: (v) => v.toFixed(2) },
  );
}

/** GFLOP/s of both engines on the compute-bound cases (convolutions and GEMMs). */
export function throughputChart(rows: Row[], adapter: string): string | null {
  const done = rows.filter((r): r is CaseResult => !isFailed(r) && r.gflops !== undefined);
  if (done.length === 0) return null;
  const series = [{ name: 'ser-webgpu', values: done.map((r) => r.gflops ?? null) }];
  if (done.some((r) => r.tfjsGflops !== undefined)) series.push({ name: 'TensorFlow.js WebGPU', values: done.map((r) => r.tfjsGflops ?? null) });
  return barChartSvg({ categories: done.map((r) => r.label), series }, { title: `Convolution and GEMM throughput — ${adapter}`, yLabel: 'GFLOP/s', formatValue: (v) => fixed(v) });
}

export interface BenchJson {
  /** device: the GPU's name where Dawn gives one (an NVIDIA adapter's description is the driver's version alone);
   * absent from runs saved before it was kept. */
  adapter: { vendor: string; architecture: string; device?: string; description: string };
  date: string;
  timing: string;
  notes: string[];
  results: (
    /** tfjsFailed: why TensorFlow.js failed at the case (tfjsMs and ratio are then null). */
    | { name: string; ms: number; tfjsMs: number | null; ratio: number | null; gflops?: number; gbps?: number; tfjsFailed?: string; [key: string]: unknown }
    | { name: string; ms: null; tfjsMs: null; ratio: null; failed: string }
  )[];
  geometricMeanRatio: number | null;
  profile?: KernelTime[];
}

export function benchJson(adapter: AdapterDescription | undefined, rows: Row[], timing: string, notes: string[], profile?: KernelTime[]): BenchJson {
  const round = (v: number | undefined | null) => (v === undefined || v === null ? v : Number(v.toPrecision(5)));
  return {
    adapter: { vendor: adapter?.vendor ?? '', architecture: adapter?.architecture ?? '', device: adapter?.device ?? '', description: adapter?.description ?? '' },
    date: new Date().toISOString(),
    timing,
    notes,
    results: rows.map((r) => {
      if (isFailed(r)) return { name: r.name, ms: null, tfjsMs: null, ratio: null, failed: r.failed };
      const out: { name: string; ms: number; tfjsMs: number | null; ratio: number | null; [key: string]: unknown } = {
        name: r.name,
        ms: round(r.ms)!,
        tfjsMs: round(r.tfjsMs) ?? null,
        ratio: round(r.ratio) ?? null,
      };
      if (r.ratioRange) out.ratioRange = r.ratioRange.map((v) => round(v));
      if (r.tfjsFailed !== undefined) out.tfjsFailed = r.tfjsFailed;
      if (r.gflops !== undefined) out.gflops = round(r.gflops);
      if (r.gbps !== undefined) out.gbps = round(r.gbps);
      if (r.tfjsGflops !== undefined) out.tfjsGflops = round(r.tfjsGflops);
      if (r.tfjsGbps !== undefined) out.tfjsGbps = round(r.tfjsGbps);
      if (r.torchMs !== undefined) {
        out.torchMs = round(r.torchMs);
        out.torchRatio = round(r.torchRatio);
      }
      if (r.dispatches !== undefined) {
        out.dispatches = r.dispatches;
        out.hostMs = round(r.hostMs);
        out.hostUsPerDispatch = round(hostUsPerDispatch(r));
        if (r.hostMsRange) out.hostMsRange = r.hostMsRange.map((v) => round(v));
        if (r.hostAfterIdleMs !== undefined) out.hostAfterIdleMs = round(r.hostAfterIdleMs);
        out.hostClock = r.hostClock;
      }
      if (r.tunedMs !== undefined) out.tunedMs = round(r.tunedMs);
      if (r.samples) out.samples = r.samples.map((v) => round(v));
      if (r.tfjsSamples) out.tfjsSamples = r.tfjsSamples.map((v) => round(v));
      for (const [k, v] of Object.entries(r.extra ?? {})) out[k] = round(v);
      out.batch = r.batch;
      if (r.tfjsBatch !== undefined) out.tfjsBatch = r.tfjsBatch;
      out.checkError = round(r.error);
      if (r.tfjsError !== undefined) out.tfjsCheckError = round(r.tfjsError);
      return out;
    }),
    geometricMeanRatio: round(geometricMeanRatio(rows)) ?? null,
    ...(profile ? { profile: profile.map((p) => ({ ...p, ms: round(p.ms)!, share: round(p.share)! })) } : {}),
  };
}
