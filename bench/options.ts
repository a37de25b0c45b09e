// The benchmark's command-line flags (`npm run bench -- --quick --filter conv1d --json`).

import { MODEL_PRESETS, type ModelPreset } from '../src/model/config.js';

export interface BenchOptions {
  /** At most two timed samples per case and engine, within 1 s (checks still run): a smoke run, not a measurement. */
  quick: boolean;
  /** Only cases whose name contains one of these substrings (case-insensitive). */
  filters: string[];
  /** Print one JSON object as the last line of stdout. */
  json: boolean;
  /** Per-kernel GPU timestamps of our training step, printed as a table after the cases. */
  profile: boolean;
  /** GEMM sizes (M = N = K); null = chosen from the adapter (see gemmSizes in cases-kernels.ts). */
  sizes: number[] | null;
  /** Skip the TensorFlow.js side (ours only, no ratio). */
  tfjs: boolean;
  /** Where the chart and the JSON file go. */
  outDir: string;
  /** Kernel tuning (src/gpu/tuner.ts); null = the engine's default (on for GPUs, off for CPU drivers). */
  tune: boolean | null;
  /** Tune without the saved choices, so that every candidate of every shape is timed and printed again. */
  retune: boolean;
  /** Model presets of the training-step and inference cases; null = BENCH_PRESETS (cases-model.ts). */
  models: ModelPreset[] | null;
  /** Also time the model and GEMM cases in PyTorch (bench/torch.ts). */
  torch: boolean;
  /** Batch sizes of the model cases; null = modelBatches (cases-model.ts): 16 and 64 on a GPU, 16 on a CPU adapter. */
  batches: number[] | null;
  /** The cold-start measurement (cases-cold-start.ts); null = on a GPU only, unless --filter leaves it out. */
  coldStart: boolean | null;
  /** Our share of the training step's host time (cases-host-split.ts); null = on a GPU only, unless --filter
   * leaves it out. */
  hostSplit: boolean | null;
  /** Both engines wait on the device as dawn.node does by itself, in a busy loop (src/gpu/polite-wait.ts). */
  busyWaits: boolean;
  /** Training steps recorded once and replayed (src/engine/captured-step.ts), as the trainer runs them; false:
   * every step runs its JavaScript. */
  capture: boolean;
  /** Check issue #11's targets against this saved run's JSON and time nothing (bench/targets.ts). */
  targets: string | null;
  /** Seconds from the process's start after which no cold-start or host-split row starts and no child (those
   * rows', PyTorch's) runs on; null = no limit. */
  budget: number | null;
}

export const USAGE = `Usage: npm run bench -- [flags]
  --quick            at most two timed samples per case (a smoke run; the checks still run)
  --filter <text>    only cases whose name or chart label contains text (repeatable, or comma-separated)
  --sizes <list>     GEMM sizes, e.g. 256,1024,4096 (default: up to 4096, or 1024 on a CPU adapter)
  --model <list>     model presets of the training-step and inference cases, e.g. default,compact
                     (default: default,compact,m5,m5-compact; tfjs runs the m5 designs only)
  --batch <list>     batch sizes of those cases, e.g. 16,64 (default: 16,64 on a GPU, 16 on a CPU adapter); the
                     rows say ms and utterances per second; a preset is checked at its first size only
  --cold-start, --no-cold-start
                     time fresh processes from spawning node to their first finished training step (batch 16):
                     ours with an empty, then the warm tuning cache, and tfjs, for the default and m5 models
                     (default: on a GPU, unless --filter leaves out "cold start")
  --host-split, --no-host-split
                     split each training row's host time into ours and Dawn's (a fresh process per preset and
                     batch, with Dawn's recording calls stubbed out; default: on a GPU, unless --filter leaves out
                     "host split")
  --budget <s>       the run's seconds: cold-start and host-split rows (the last sections, fresh processes each)
                     not started by then are left out, with a note, and a child still running then (theirs, or
                     PyTorch's) is stopped, so that the table, JSON and targets come out (scripts/gpu-bench.sh:
                     one device call of 8 minutes)
  --busy-waits       both engines wait on the device in dawn.node's busy loop, as they do on a GPU (default on a
                     CPU driver: they wait politely, leaving the cores to the driver; src/gpu/polite-wait.ts)
  --no-capture       run every training step's JavaScript (autograd, kernel set-up) rather than replay the
                     step recorded at its first run, as the trainer does (src/engine/captured-step.ts); the host
                     split's children too
  --no-tfjs          skip the TensorFlow.js comparison
  --torch            also time the model and GEMM cases in PyTorch (fp32, TF32 off; CUDA, else CPU), where
                     /usr/bin/python3 or python3 imports torch
  --profile          print our per-kernel GPU time of the training step (needs timestamp-query)
  --tune, --no-tune  time our candidate kernels per shape before timing a case (default: on GPUs only);
                     the choices are saved per adapter (~/.cache/ser-webgpu/tuning.json)
  --retune           tune every shape again, ignoring the saved choices (e.g. a tile sweep:
                     --retune --filter gemm.fwd --sizes 1024,4096 prints each candidate's ms and TFLOP/s)
  --targets <file>   check issue #11's targets against a saved run (a JSON file this benchmark wrote), time
                     nothing; every run prints them for itself at its end
  --json             print one JSON object as the last line
  --out <dir>        where the chart and JSON go (default bench/results)
  --help             this text`;

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const o: BenchOptions = { quick: false, filters: [], json: false, profile: false, sizes: null, tfjs: true, outDir: 'bench/results', tune: null, retune: false, models: null, torch: false, batches: null, coldStart: null, hostSplit: null, busyWaits: false, capture: true, targets: null, budget: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--quick':
        o.quick = true;
        break;
      case '--filter':
        o.filters.push(...value().split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
        break;
      case '--sizes':
      case '--batch': {
        const list = value().split(',').map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: "${s}" is not a positive integer`);
          return n;
        });
        if (flag === '--sizes') o.sizes = list;
        else o.batches = [...new Set(list)];
        break;
      }
      case '--model':
        o.models = [...new Set(value().split(',').map((s) => s.trim()).filter(Boolean))].map((name) => {
          if (!(name in MODEL_PRESETS)) throw new Error(`--model: unknown preset "${name}" (${Object.keys(MODEL_PRESETS).join(', ')})`);
          return name as ModelPreset;
        });
        break;
      case '--torch':
        o.torch = true;
        break;
      case '--no-tfjs':
        o.tfjs = false;
        break;
      case '--profile':
        o.profile = true;
        break;
      case '--tune':
      case '--no-tune':
        o.tune = flag === '--tune';
        break;
      case '--cold-start':
      case '--no-cold-start':
        o.coldStart = flag === '--cold-start';
        break;
      case '--host-split':
      case '--no-host-split':
        o.hostSplit = flag === '--host-split';
        break;
      case '--busy-waits':
        o.busyWaits = true;
        break;
      case '--no-capture':
        o.capture = false;
        break;
      case '--retune':
        o.tune = true;
        o.retune = true;
        break;
      case '--json':
        o.json = true;
        break;
      case '--out':
        o.outDir = value();
        break;
      case '--targets':
        o.targets = value();
        break;
      case '--budget': {
        const v = value();
        o.budget = Number(v);
        if (!(o.budget > 0)) throw new Error(`--budget: "${v}" is not a positive number of seconds`);
        break;
      }
      case '--help':
      case '-h':
        return 'help';
      default:
        throw new Error(`unknown flag "${flag}"\n\n${USAGE}`);
    }
  }
  return o;
}

/** Whether a case's name or its chart label contains one of the filters. */
export function selected(c: { name: string; label: string }, filters: string[]): boolean {
  const text = `${c.name}\n${c.label}`.toLowerCase();
  return filters.length === 0 || filters.some((f) => text.includes(f));
}
