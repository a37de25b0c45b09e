// What identifies a run (a hash of the utterance list and labels, the classes, the model configuration, the
// training options and the fold scheme) is written to run.json in the output folder when the run starts; a
// resume that does not match it is refused, naming the differences, and fold results and checkpoints carry the
// run's id, so that files left by another run in the same folder are never taken for this one's.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { Condition, ExperimentInput } from './experiment.js';
import type { FoldScheme } from './folds.js';
import type { TrainOptions } from './trainer.js';

export const RUN_FORMAT = 'ser-webgpu/run-1';

/** What makes two runs the same run: resuming one with another's files would mix results. */
export interface RunIdentity {
  corpus: string;
  data: { utterances: number; hash: string };
  classes: string[];
  model: ModelConfig;
  training: TrainOptions;
  folds: FoldScheme;
  splitSeed: number;
  validationSpeakers: number;
  conditions: Condition[];
}

interface RunFile {
  format: string;
  id: string;
  identity: RunIdentity;
  /** Recorded on resuming a folder of an older version (no run.json): its unstamped files are accepted. */
  legacy?: boolean;
}

export interface RunRecord {
  id: string;
  /** Whether a fold result or checkpoint stamped with `runId` belongs to this run. */
  owns(runId: string | undefined): boolean;
}

/** JSON with object keys sorted, so that equal values give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function runIdentity(input: ExperimentInput): RunIdentity {
  // The utterances in their order (which the batches depend on), with their labels, split groups (which the
  // folds depend on; absent ones add nothing, so older runs of ungrouped corpora still resume) and decoded lengths.
  const line = (u: ExperimentInput['utterances'][number]) => [u.file, u.emotion, u.speaker, u.gender, ...(u.group === undefined ? [] : [u.group]), u.samples.length].join('\t');
  // Unscored utterances change the test speakers' normalisation; none adds nothing, as above.
  const unscored = input.unscored?.length ? ['unscored', ...input.unscored.map(line)] : [];
  const data = sha256([...input.utterances.map(line), ...unscored].join('\n'));
  return {
    corpus: input.corpusName,
    data: { utterances: input.utterances.length, hash: data },
    classes: input.classes,
    model: input.modelConfig(input.classes),
    training: input.train,
    folds: input.folds,
    splitSeed: input.splitSeed ?? input.train.seed,
    validationSpeakers: input.validationSpeakers ?? 0,
    conditions: input.conditions,
  };
}

/** Where two identities differ, as `field: recorded vs now` lines (at most 8). */
export function identityDifferences(recorded: RunIdentity, now: RunIdentity): string[] {
  const out: string[] = [];
  if (recorded.data?.hash !== now.data.hash) {
    out.push(`data: ${recorded.data?.utterances} utterances (hash ${String(recorded.data?.hash).slice(0, 12)}) in the interrupted run vs ${now.data.utterances} (hash ${now.data.hash.slice(0, 12)}) now: the files, their labels or their audio differ`);
  }
  const walk = (a: unknown, b: unknown, path: string) => {
    if (canonicalJson(a) === canonicalJson(b)) return;
    const objects = a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b);
    if (!objects) {
      out.push(`${path}: ${canonicalJson(a) ?? 'absent'} in the interrupted run vs ${canonicalJson(b) ?? 'absent'} now`);
      return;
    }
    const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    for (const k of keys) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
  };
  for (const key of Object.keys(now) as (keyof RunIdentity)[]) {
    if (key !== 'data') walk((recorded as unknown as Record<string, unknown>)[key], now[key], key);
  }
  return out.length > 8 ? [...out.slice(0, 8), `and ${out.length - 8} more`] : out;
}

/** Records the run in run.json (atomically) or, on resume, checks that it is the run recorded there. */
export async function startRun(input: ExperimentInput): Promise<RunRecord> {
  const path = join(input.outDir, 'run.json');
  const identity = runIdentity(input);
  const id = sha256(canonicalJson(identity)).slice(0, 16);
  const record = (legacy: boolean): RunRecord => ({ id, owns: (runId) => runId === id || (legacy && runId === undefined) });
  const write = (legacy: boolean) => writeFileAtomic(path, new TextEncoder().encode(JSON.stringify({ format: RUN_FORMAT, id, identity, ...(legacy ? { legacy } : {}) } satisfies RunFile, null, 2)));
  if (input.resume && existsSync(path)) {
    let recorded: RunFile;
    try {
      recorded = JSON.parse(await readFile(path, 'utf8')) as RunFile;
      if (recorded?.format !== RUN_FORMAT || typeof recorded.id !== 'string' || !recorded.identity || typeof recorded.identity !== 'object') throw new Error('not a run record');
    } catch (e) {
      throw new Error(`${path}: damaged run record (${(e as Error).message}): cannot check that --resume continues the same run; start again without --resume, or in another folder`);
    }
    if (recorded.id !== id) {
      const differences = identityDifferences(recorded.identity, identity);
      throw new Error(
        `--resume does not match the run recorded in ${path}: ${differences.length ? differences.join('; ') : 'the run identity differs'}. ` +
          'Resume with the same data and options, or start again without --resume (or in another --out folder).',
      );
    }
    return record(!!recorded.legacy);
  }
  if (input.resume) {
    const leftovers = (await readdir(input.outDir)).filter((f) => /^fold\d+-.*\.(json|safetensors)$/.test(f));
    if (leftovers.length) {
      (input.warn ?? ((m: string) => console.error(m)))(
        `${path} is missing (a run of an older version?): cannot check that --resume matches the run that left ${leftovers.length} fold file(s) there; they are reused as they are`,
      );
      await write(true);
      return record(true);
    }
  }
  await write(false);
  return record(false);
}

