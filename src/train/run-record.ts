// What identifies a run (a hash of the utterance list and labels, one of the decoded audio, the classes, the
// model configuration, the training options and the fold scheme) is written to run.json in the output folder
// when the run starts; a resume that does not match it is refused, naming the differences (the utterances whose
// audio changed among them), and fold results and checkpoints carry the run's id, so that files left by another
// run in the same folder are never taken for this one's. A run that is not a resume is refused in a folder that
// holds another run, unless told to replace it (`overwrite`). run.json of versions before the audio hash lacks
// it: such a run is compared and identified without it (its files carry that id), with a warning.
// A resume may add designs to a run (the gender design to a run of 'none' alone): it is recorded anew, and the
// files of the run it extends stay its own.

import { createHash } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { firstFew } from '../io/listing.js';
import type { Condition, ExperimentInput } from './experiment.js';
import type { FoldScheme } from './folds.js';
import type { TrainOptions } from './trainer.js';

export const RUN_FORMAT = 'ser-webgpu/run-1';

/** What makes two runs the same run: resuming one with another's files would mix results. */
export interface RunIdentity {
  corpus: string;
  /** `audio`: absent in the records of older versions (see asRecorded). */
  data: { utterances: number; hash: string; audio?: AudioIdentity };
  classes: string[];
  model: ModelConfig;
  training: TrainOptions;
  folds: FoldScheme;
  splitSeed: number;
  validationSpeakers: number;
  conditions: Condition[];
}

/** The decoded samples of the utterances (and unscored ones), in their order: `hash` decides, `each` (the first 8
 * hex digits of every utterance's digest, 4.3 kB for EMO-DB) only names those that differ. */
interface AudioIdentity {
  hash: string;
  each: string;
}

export interface RunFile {
  format: string;
  id: string;
  identity: RunIdentity;
  /** Recorded on resuming a folder of an older version (no run.json): its unstamped files are accepted. */
  legacy?: boolean;
  /** The ids of the runs this one continues with more designs (addsDesigns): their files are this run's. */
  extends?: string[];
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

/** The id run.json records: the identity's hash, so that equal identities have equal ids. */
export const runId = (identity: RunIdentity): string => sha256(canonicalJson(identity)).slice(0, 16);

/** Each utterance's samples hashed once: runIdentity runs once per run, and once per seed folder that a `--seeds`
 * run looks at, on the same decoded arrays (95 MB for EMO-DB). Nothing writes into a loaded utterance's samples. */
const sampleDigests = new WeakMap<Float32Array, string>();

function sampleDigest(samples: Float32Array): string {
  let digest = sampleDigests.get(samples);
  if (digest === undefined) {
    // The bytes as they lie in memory (little-endian on every platform Node and Dawn run on).
    digest = createHash('sha256').update(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)).digest('hex');
    sampleDigests.set(samples, digest);
  }
  return digest;
}

/** The utterances whose audio runIdentity hashes, in its order. */
const hashedUtterances = (input: ExperimentInput) => [...input.utterances, ...(input.unscored ?? [])];

export function runIdentity(input: ExperimentInput): RunIdentity {
  // The utterances in their order (which the batches depend on), with their labels, split groups (which the
  // folds depend on; absent ones add nothing, so older runs of ungrouped corpora still resume) and decoded lengths.
  const line = (u: ExperimentInput['utterances'][number]) => [u.file, u.emotion, u.speaker, u.gender, ...(u.group === undefined ? [] : [u.group]), u.samples.length].join('\t');
  // Unscored utterances change the test speakers' normalisation; none adds nothing, as above.
  const unscored = input.unscored?.length ? ['unscored', ...input.unscored.map(line)] : [];
  const data = sha256([...input.utterances.map(line), ...unscored].join('\n'));
  // The samples themselves: audio replaced by other audio of the same names and lengths (re-encoded, denoised,
  // a corrected file) would otherwise resume folds trained on the old audio beside folds trained on the new.
  const digests = hashedUtterances(input).map((u) => sampleDigest(u.samples));
  const audio = { hash: sha256(digests.join('\n')), each: digests.map((d) => d.slice(0, 8)).join('') };
  return {
    corpus: input.corpusName,
    data: { utterances: input.utterances.length, hash: data, audio },
    classes: input.classes,
    model: input.modelConfig(input.classes),
    training: input.train,
    folds: input.folds,
    splitSeed: input.splitSeed ?? input.train.seed,
    validationSpeakers: input.validationSpeakers ?? 0,
    conditions: input.conditions,
  };
}

/** `now` as `recorded` identifies runs: a record of an older version has no audio hash, and its fold results and
 * checkpoints carry an id computed without one, so the audio is left out of the comparison and of the id (the
 * group field's way: what an older record lacks adds nothing). A run recorded with it is compared with it. */
function asRecorded(now: RunIdentity, recorded: RunIdentity): RunIdentity {
  if (recorded.data?.audio !== undefined) return now;
  const { audio: _, ...data } = now.data;
  return { ...now, data };
}

/** The warning for a run identified without its audio (asRecorded), `path` its run.json. */
const audioUnchecked = (path: string) =>
  `${path} was written by an older version, without the audio's hash: cannot check that the audio is that run's (the files, labels and lengths match)`;

/** The utterances whose audio differs, where the utterance lists are the same (equal data hashes). */
function audioDifference(recorded: RunIdentity['data'], now: RunIdentity['data'], files: string[], recordedAs: string): string {
  const [was, is] = [recorded.audio as Partial<AudioIdentity> | null, now.audio!];
  const hashes = `audio hash ${String(was?.hash).slice(0, 12)} ${recordedAs} vs ${is.hash.slice(0, 12)} now`;
  const changed = typeof was?.each === 'string' && was.each.length === is.each.length && is.each.length === 8 * files.length
    ? files.filter((_, i) => was.each!.slice(8 * i, 8 * i + 8) !== is.each.slice(8 * i, 8 * i + 8))
    : [];
  // An 8-digit prefix can match where the whole digest does not (1 in 4e9): then only the hashes are named.
  return changed.length
    ? `data: the audio of ${changed.length} utterance(s) differs, first: ${changed[0]} (${hashes})`
    : `data: the audio differs (${hashes})`;
}

/** Where two identities differ, as `field: recorded vs now` lines (at most 8); `recordedAs` names the recorded run,
 * `files` the utterances of `now` in runIdentity's order (hashedUtterances), to name those whose audio differs. */
function identityDifferences(recorded: RunIdentity, now: RunIdentity, recordedAs: string, files: string[]): string[] {
  const out: string[] = [];
  if (recorded.data?.hash !== now.data.hash) {
    out.push(`data: ${recorded.data?.utterances} utterances (hash ${String(recorded.data?.hash).slice(0, 12)}) ${recordedAs} vs ${now.data.utterances} (hash ${now.data.hash.slice(0, 12)}) now: the files, their labels or their audio differ`);
  } else if (canonicalJson(recorded.data.audio) !== canonicalJson(now.data.audio)) {
    out.push(audioDifference(recorded.data, now.data, files, recordedAs));
  }
  const walk = (a: unknown, b: unknown, path: string) => {
    if (canonicalJson(a) === canonicalJson(b)) return;
    const objects = a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b);
    if (!objects) {
      out.push(`${path}: ${canonicalJson(a) ?? 'absent'} ${recordedAs} vs ${canonicalJson(b) ?? 'absent'} now`);
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

/** The files a run writes in its folder (run.json, fold results and checkpoints, the final model and its
 * checkpoint, the report): those of a folder without run.json are an older version's run, and overwrite removes
 * them. A file of another name (the user's) is never either. */
const RUN_FILE = /^(run\.json|results\.json|report\.md|model\.safetensors|(fold\d+|final)-[a-z]+\.(json|safetensors)|(confusion|curves)-[a-z]+\.svg)$/;

async function runFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  return entries.filter((e) => e.isFile() && RUN_FILE.test(e.name)).map((e) => e.name).sort();
}

/** run.json as written, or an Error naming it and the damage. */
async function readRunFile(path: string): Promise<RunFile | Error> {
  try {
    const recorded = JSON.parse(await readFile(path, 'utf8')) as RunFile;
    if (recorded?.format !== RUN_FORMAT || typeof recorded.id !== 'string' || !recorded.identity || typeof recorded.identity !== 'object') throw new Error('not a run record');
    return recorded;
  } catch (e) {
    return new Error(`${path}: damaged run record (${(e as Error).message})`);
  }
}

/** What a folder holds of a run: its run files (none: no run made it) and its run.json as recorded, or an Error
 * naming the damage. */
export interface FolderRun {
  files: string[];
  recorded?: RunFile | Error;
}

export async function recordedRun(dir: string): Promise<FolderRun> {
  const files = await runFiles(dir);
  return { files, recorded: files.includes('run.json') ? await readRunFile(join(dir, 'run.json')) : undefined };
}

/** The run in `dir` (one with files), as refusals name it: its id and where it is recorded, or why that cannot
 * be told. */
export function heldRun(dir: string, { files, recorded }: FolderRun): string {
  if (recorded instanceof Error) return `${recorded.message}: which run it holds cannot be told`;
  if (recorded) return `run ${recorded.id}, recorded in ${join(dir, 'run.json')}`;
  return `the files of a run of an older version, without run.json: ${firstFew(files)}`;
}

/** Removes these files of `dir` (gone already is fine), or throws naming the one that stays and `why`. */
export async function removeRunFiles(dir: string, names: string[], why: string): Promise<void> {
  for (const name of names) {
    const file = join(dir, name);
    await unlink(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw new Error(`${file}: cannot remove it ${why} (${e.message})`, { cause: e });
    });
  }
}

/** This run (`input`) as the run `recorded` identifies runs (asRecorded): its identity and id, where it differs
 * from that run (none: the same run), whether it is that run with designs added, and a warning where its audio
 * cannot be checked against it. */
export function compareRun(recorded: RunFile, input: ExperimentInput, path: string, recordedAs = 'in the interrupted run') {
  const identity = asRecorded(runIdentity(input), recorded.identity);
  const id = runId(identity);
  const same = recorded.id === id;
  const differences = same ? '' : identityDifferences(recorded.identity, identity, recordedAs, hashedUtterances(input).map((u) => u.file)).join('; ') || 'the run identity differs';
  // Not the same run, but that run with designs added: a --resume continues it (planRun).
  const adds = !same && addsDesigns(recorded, identity);
  return { identity, id, same, adds, differences, warning: identity.data.audio ? undefined : audioUnchecked(path) };
}

/** Whether `now` is the run `recorded` with more designs (the gender design added to a run of 'none' alone):
 * with the recorded designs, it is that run. A design's folds do not depend on the others', so that run's fold
 * results and checkpoints stay valid, and only the added designs train. */
function addsDesigns(recorded: RunFile, now: RunIdentity): boolean {
  const before = recorded.identity.conditions;
  if (!Array.isArray(before) || before.length >= now.conditions.length || !before.every((c) => now.conditions.includes(c))) return false;
  return runId({ ...now, conditions: before }) === recorded.id;
}

/** What starting a run in its folder does. */
interface Plan {
  id: string;
  identity: RunIdentity;
  legacy: boolean;
  /** The ids of earlier runs whose files this one owns (RunFile.extends). */
  extends: string[];
  /** Whether run.json is (re)written. */
  write: boolean;
  /** The previous run's files, removed before run.json is written (overwrite). */
  replace: string[];
  warning?: string;
}

/** Decided from what the folder holds, writing nothing; an Error where the run may not start there. */
async function planRun(input: ExperimentInput): Promise<Plan> {
  const path = join(input.outDir, 'run.json');
  const identity = runIdentity(input);
  const id = runId(identity);
  const plan: Plan = { id, identity, legacy: false, extends: [], write: true, replace: [] };
  if (input.resume && input.overwrite) throw new Error(`resume and overwrite contradict each other (${input.outDir}): resume continues the run there, overwrite replaces it`);
  const { files, recorded } = await recordedRun(input.outDir);
  const run = recorded instanceof Error ? undefined : recorded;
  const match = run && compareRun(run, input, path, input.resume ? undefined : 'there');
  // Continuing the run recorded there (a resume, or the same run again), this one takes the identity and id it
  // was recorded with (without the audio, where an older version recorded it).
  const same = run && match?.same ? { ...plan, id: match.id, identity: match.identity, legacy: !!run.legacy, extends: run.extends ?? [], write: false, warning: match.warning } : undefined;
  if (input.resume) {
    if (recorded instanceof Error) {
      throw new Error(`${recorded.message}: cannot check that --resume continues the same run; start again in another --out folder, or replace that run with --overwrite`);
    }
    if (run && match?.adds) {
      // Recorded anew, with the designs of both runs; the earlier run's files stay this run's.
      const added = match.identity.conditions.filter((c) => !run.identity.conditions.includes(c));
      const notice = `${path}: --resume adds the design(s) ${added.join(', ')} to the run of ${run.identity.conditions.join(', ')} recorded there; its folds are kept`;
      return { ...plan, id: match.id, identity: match.identity, legacy: !!run.legacy, extends: [...(run.extends ?? []), run.id], warning: [notice, match.warning].filter(Boolean).join('; ') };
    }
    if (match && !match.same) {
      throw new Error(
        `--resume does not match the run recorded in ${path}: ${match.differences}. ` +
          'Resume with the same data and options, or start again in another --out folder (or replace that run with --overwrite).',
      );
    }
    if (same) return same;
    if (files.length) {
      const warning = `${path} is missing (a run of an older version?): cannot check that --resume matches the run that left ${files.length} file(s) there (${firstFew(files)}); they are reused as they are`;
      return { ...plan, legacy: true, warning };
    }
    return plan;
  }
  // Not a resume: the folder must be empty of runs, hold this same run (run again, or --final-only beside its
  // cross-validation), or be given up (overwrite).
  if (input.overwrite) return { ...plan, replace: files.filter((f) => f !== 'run.json') };
  if (same) return same;
  if (!recorded && !files.length) return plan;
  let held = heldRun(input.outDir, { files, recorded });
  let advice = 'use another --out, or --overwrite to replace it';
  if (recorded && !(recorded instanceof Error)) {
    held += `; this run is ${id}: ${match!.differences}`;
    advice = 'use another --out, --resume to continue that run (with its data and options), or --overwrite to replace it';
  } else if (!recorded) {
    advice = 'use another --out, --resume to continue that run (its files are reused unchecked), or --overwrite to replace it';
  }
  throw new Error(`output folder ${input.outDir} holds another run (${held}). Nothing was changed there: ${advice}.`);
}

/** Refuses, as startRun would, a run that may not start in its folder (resume of another run, a folder holding
 * another run); writes nothing. For commands that start several runs, before the first. */
export async function checkRunFolder(input: ExperimentInput): Promise<void> {
  await planRun(input);
}

/** Records the run in run.json (atomically) or, on resume, checks that it is the run recorded there; with
 * overwrite, first removes the files of the run that was there. Call it holding the folder's lock. */
export async function startRun(input: ExperimentInput): Promise<RunRecord> {
  const plan = await planRun(input);
  const warn = input.warn ?? ((m: string) => console.error(m));
  if (plan.warning) warn(plan.warning);
  if (plan.replace.length) {
    // All of them, not only those the new run writes again: a run of more folds would leave fold results and
    // checkpoints beside the new run's. run.json stays until the new one replaces it, so a removal cut short
    // leaves the old run recorded (and resumable) rather than files no run.json claims.
    await removeRunFiles(input.outDir, plan.replace, 'to replace the run there');
    warn(`${input.outDir}: removed the ${plan.replace.length} file(s) of the run that was there (${firstFew(plan.replace)}), to replace it`);
  }
  if (plan.write) {
    const file: RunFile = { format: RUN_FORMAT, id: plan.id, identity: plan.identity, ...(plan.legacy ? { legacy: true } : {}), ...(plan.extends.length ? { extends: plan.extends } : {}) };
    await writeFileAtomic(join(input.outDir, 'run.json'), new TextEncoder().encode(JSON.stringify(file, null, 2)));
  }
  return { id: plan.id, owns: (runId) => runId === undefined ? plan.legacy : runId === plan.id || plan.extends.includes(runId) };
}
