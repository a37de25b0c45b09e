// Training that would otherwise end in a silently wrong result: a diverged run (non-finite loss or weights)
// stops without writing a non-finite checkpoint; a resume that does not match the interrupted run is refused;
// damaged fold results are named and retrained; one-class data and a speaker of two genders are refused; an
// output folder that cannot be written fails at once, one that holds another run or is locked by a live one is
// refused, and a killed run's lock and temp files are cleared; the final model resumes from its checkpoint.
// Small models on the CPU backend, so it runs in seconds.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, init } from '../src/engine/context.js';
import type { ArrayTensor } from '../src/engine/module.js';
import { compactModelConfig } from '../src/model/config.js';
import { decodeModel, encodeModel } from '../src/model/model-file.js';
import { SerModel } from '../src/model/ser-model.js';
import { encodeWav16 } from '../src/audio/index.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { toExamples } from '../src/train/dataset.js';
import { runExperiment, type ExperimentInput } from '../src/train/experiment.js';
import { runId as idOf, runIdentity } from '../src/train/run-record.js';
import { prepareOutputDir } from '../src/io/out-dir.js';
import { generateSyntheticCorpus, makeVoice, synthesizeUtterance } from '../src/train/synthetic.js';
import { DEFAULT_TRAIN_OPTIONS, fit, TrainingDivergedError, type TrainingState } from '../src/train/trainer.js';
import { cliForTests } from './cli.js';
import { tinyExperiment, tinyModel } from './tiny-experiment.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ser-train-hardening-'));
  await init({ backend: 'cpu' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


const corpus = generateSyntheticCorpus({ speakers: 6, utterancesPerEmotion: 1, seconds: 0.5, seed: 5 });

const experiment = (outDir: string, overrides: Partial<ExperimentInput> = {}) => tinyExperiment(corpus, tinyModel, outDir, overrides);

function poison(model: SerModel, name: string, value: number): void {
  const t = [...model.namedParameters(), ...model.namedBuffers()].find(([n]) => n === name)![1];
  t.backend.write(t.storage, new Float32Array(t.size).fill(value));
}

describe('a diverged run', () => {
  const examples = toExamples(corpus.utterances, corpus.classes, 4000);

  it('--lr 1e308: stops in epoch 1 with an error saying the loss is not finite, and writes no checkpoint', async () => {
    const saved: number[] = [];
    const run = fit(tinyModel(corpus.classes), examples, { examples: [] }, { ...DEFAULT_TRAIN_OPTIONS, epochs: 3, batchSize: 8, lr: 1e308 }, { saveCheckpoint: async (_, s) => void saved.push(s.epoch) });
    await expect(run).rejects.toThrow(TrainingDivergedError);
    await expect(run).rejects.toThrow(/training diverged in epoch 1: (the mean training loss is NaN|weight ".*" is (NaN|-?Infinity)) \(not finite\).*--lr, now 1e\+308/);
    expect(saved).toEqual([]);
  });

  it('keeps the last finite checkpoint: a run that diverges in epoch 2 has written epoch 1 only', async () => {
    const saved: TrainingState[] = [];
    const hooks = {
      saveCheckpoint: async (model: SerModel, state: TrainingState) => {
        saved.push(state);
        expect(Object.values(await model.stateDict()).every((t) => t.data.every(Number.isFinite))).toBe(true);
        if (state.epoch === 1) poison(model, 'block0.conv.weight', NaN); // as if the weights blew up after epoch 1
      },
    };
    await expect(fit(tinyModel(corpus.classes), examples, { examples: [] }, { ...DEFAULT_TRAIN_OPTIONS, epochs: 3, batchSize: 8 }, hooks)).rejects.toThrow(
      /training diverged in epoch 2: the mean training loss is NaN \(not finite\)\. Stopped without saving this epoch; the last checkpoint written, if any, is epoch 1's/,
    );
    expect(saved.map((s) => s.epoch)).toEqual([1]);
  });

  it('checks the weights before every checkpoint, even where the loss stays finite', async () => {
    const saved: number[] = [];
    const hooks = {
      saveCheckpoint: async (model: SerModel, state: TrainingState) => {
        saved.push(state.epoch);
        // Running statistics do not enter the training loss: only the weight check can see them.
        if (state.epoch === 1) poison(model, 'block1.bn.running_mean', Infinity);
      },
    };
    await expect(fit(tinyModel(corpus.classes), examples, { examples: [] }, { ...DEFAULT_TRAIN_OPTIONS, epochs: 3, batchSize: 8 }, hooks)).rejects.toThrow(
      /training diverged in epoch 2: weight "block1\.bn\.running_mean" is (NaN|Infinity) \(not finite\)/,
    );
    expect(saved).toEqual([1]);
  });
});

// A fit that fails disposes what it made (the model, the optimiser's flat vectors, the class weights, the epoch's
// loss values) before the error propagates: the finalizer would free it only at some collection, while a run goes
// on to its next fold. The count is read at once, before any collection could run a finalizer.
describe('a fit that fails', () => {
  const examples = toExamples(corpus.utterances, corpus.classes, 4000);
  const options = { ...DEFAULT_TRAIN_OPTIONS, epochs: 2, batchSize: 8 };
  let checkpoint: { weights: Record<string, ArrayTensor>; state: TrainingState };
  beforeAll(async () => {
    const { model } = await fit(tinyModel(corpus.classes), examples, { examples: [] }, { ...options, epochs: 1 }, {
      saveCheckpoint: async (m, state) => void (checkpoint = { weights: await m.stateDict(), state }),
    });
    model.dispose();
  });
  // Each resume gets its own copy: fit continues the state it is given.
  const resumeFrom = (change: (c: typeof checkpoint) => void) => {
    const copy = { weights: { ...checkpoint.weights }, state: { ...checkpoint.state, history: [...checkpoint.state.history], best: { ...checkpoint.state.best } } };
    change(copy);
    return copy;
  };
  /** The message fit rejects with, and the buffers it left allocated. */
  const failure = async (run: () => Promise<unknown>) => {
    const live = () => engine().backend.counters().liveBuffers;
    const before = live();
    const error = await run().then(
      () => new Error('fit did not fail'),
      (e: Error) => e,
    );
    return { message: error.message, leftAllocated: live() - before };
  };

  it('resumed from weights that do not fit the model: names them, trains nothing and leaves nothing allocated', async () => {
    const steps: number[] = [];
    const wrong = resumeFrom((c) => (c.weights['block0.conv.weight'] = { shape: [4, 1, 8], data: new Float32Array(32) }));
    expect(await failure(() => fit(tinyModel(corpus.classes), examples, { examples: [] }, options, { onBatch: (e) => void steps.push(e) }, wrong))).toEqual({
      message: "fit: cannot resume: the checkpoint's weights do not fit the model: loadStateDict: block0.conv.weight has shape [4,1,8] but the model expects [4,1,16]",
      leftAllocated: 0,
    });
    expect(steps).toEqual([]);
  });

  it('resumed from optimiser state that does not fit the model: names it and leaves nothing allocated', async () => {
    const size = checkpoint.state.optimizer.m[2].length;
    const short = resumeFrom((c) => (c.state.optimizer = { ...c.state.optimizer, m: c.state.optimizer.m.map((m, i) => (i === 2 ? m.subarray(1) : m)) }));
    expect(await failure(() => fit(tinyModel(corpus.classes), examples, { examples: [] }, options, {}, short))).toEqual({
      message: `fit: cannot resume: the checkpoint's optimiser state does not fit the model: optimizer state: m[2] has ${size - 1} values, parameter 2 ${size}`,
      leftAllocated: 0,
    });
    const fewer = resumeFrom((c) => (c.state.optimizer = { ...c.state.optimizer, v: c.state.optimizer.v.slice(1) }));
    expect(await failure(() => fit(tinyModel(corpus.classes), examples, { examples: [] }, options, {}, fewer))).toEqual({
      message: expect.stringMatching(/^fit: cannot resume: the checkpoint's optimiser state does not fit the model: optimizer state has \d+ moments, the model \d+ parameters$/),
      leftAllocated: 0,
    });
  });

  it('resumed with best weights that do not fit the model: refused before training, where they loaded only at its end', async () => {
    const steps: number[] = [];
    const wrong = resumeFrom((c) => (c.state.best = { ...c.weights, 'block1.bn.weight': { shape: [9], data: new Float32Array(9) } }));
    const validation = { examples: examples.slice(0, 4) };
    expect(await failure(() => fit(tinyModel(corpus.classes), examples, validation, options, { onBatch: (e) => void steps.push(e) }, wrong))).toEqual({
      message: "fit: cannot resume: the checkpoint's best weights do not fit the model: loadStateDict: block1.bn.weight has shape [9] but the model expects [8]",
      leftAllocated: 0,
    });
    expect(steps).toEqual([]);
  });

  it('failing in its first epoch (a hook that throws): disposes the loss values it had kept too', async () => {
    const hooks = {
      onBatch: (_epoch: number, done: number) => {
        if (done > 8) throw new Error('stopped by the hook');
      },
    };
    expect(await failure(() => fit(tinyModel(corpus.classes), examples, { examples: [] }, options, hooks))).toEqual({ message: 'stopped by the hook', leftAllocated: 0 });
  });

  it('still resumes from a checkpoint that fits', async () => {
    const before = engine().backend.counters().liveBuffers;
    const { model, history } = await fit(tinyModel(corpus.classes), examples, { examples: [] }, options, {}, resumeFrom(() => undefined));
    expect(history.map((r) => r.epoch)).toEqual([1, 2]);
    model.dispose();
    expect(engine().backend.counters().liveBuffers).toBe(before);
  });
});

describe('runExperiment', () => {
  it('refuses data with fewer than 2 classes present', async () => {
    const angry = corpus.utterances.filter((u) => u.emotion === corpus.classes[0]);
    await expect(runExperiment(experiment(join(dir, 'one-class'), { utterances: angry }))).rejects.toThrow(
      new RegExp(`training needs utterances of at least 2 emotion classes, but the data holds only ${corpus.classes[0]} \\(${angry.length} utterances\\)`),
    );
    expect(existsSync(join(dir, 'one-class'))).toBe(false);
  });

  it('refuses a speaker labelled both female and male, naming the speaker and files', async () => {
    const utterances = corpus.utterances.map((u, i) => (i === 0 ? { ...u, gender: u.gender === 'f' ? ('m' as const) : ('f' as const) } : u));
    const speaker = utterances[0].speaker;
    await expect(runExperiment(experiment(join(dir, 'two-genders'), { utterances }))).rejects.toThrow(
      new RegExp(`speaker "${speaker}" is labelled both female \\(.*synthetic/.*\\) and male \\(.*synthetic/.*\\)`),
    );
  });

  it('fails at once on an output folder it cannot create or write', async () => {
    const started = Date.now();
    await expect(prepareOutputDir('/proc/x')).rejects.toThrow(/output folder \/proc\/x: cannot create \/proc\/x/);
    await expect(runExperiment(experiment('/proc/x/run'))).rejects.toThrow(/output folder \/proc\/x\/run: cannot create \/proc\/x/);
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(prepareOutputDir(file)).rejects.toThrow(/output folder .*a-file: .*a-file exists and is not a folder/);
    await expect(prepareOutputDir(join(file, 'sub'))).rejects.toThrow(/output folder .*a-file\/sub: .*not a directory/);
    expect(Date.now() - started).toBeLessThan(5000);
    await prepareOutputDir(join(dir, 'new', 'nested', 'out'));
    expect(await readdir(join(dir, 'new', 'nested', 'out'))).toEqual([]); // the probe file is gone
  });

  it('disposes the final model when it cannot be written, and names the file', async () => {
    const out = join(dir, 'unwritable-model');
    await mkdir(join(out, 'model.safetensors'), { recursive: true }); // a folder where the file goes
    const before = engine().backend.counters().liveBuffers;
    await expect(runExperiment(experiment(out, { crossValidate: false, finalModel: true }))).rejects.toThrow(/writing .*unwritable-model\/model\.safetensors failed/);
    expect(engine().backend.counters().liveBuffers).toBe(before);
  });

  describe('resume', () => {
    const out = () => join(dir, 'resumable');
    let first: Awaited<ReturnType<typeof runExperiment>>;
    beforeAll(async () => {
      first = await runExperiment(experiment(out()));
    });

    it('records what identifies the run in run.json', async () => {
      const run = JSON.parse(await readFile(join(out(), 'run.json'), 'utf8'));
      expect(run.format).toBe('ser-webgpu/run-1');
      expect(run.id).toMatch(/^[0-9a-f]{16}$/);
      expect(Object.keys(run.identity).sort()).toEqual(['classes', 'conditions', 'corpus', 'data', 'folds', 'model', 'splitSeed', 'training', 'validationSpeakers']);
      expect(run.identity.data.utterances).toBe(corpus.utterances.length);
      expect(run.identity.data.audio).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{64}$/), each: expect.stringMatching(new RegExp(`^[0-9a-f]{${8 * corpus.utterances.length}}$`)) });
      const result = JSON.parse(await readFile(join(out(), 'fold1-concat.json'), 'utf8'));
      expect(result.run).toBe(run.id);
      expect(decodeModel(await readFile(join(out(), 'fold1-concat.safetensors')), 'checkpoint').metadata.run).toBe(run.id);
    });

    it('refuses a resume whose options, data, classes or folds differ, naming the differences', async () => {
      const resume = (o: Partial<ExperimentInput>) => runExperiment(experiment(out(), { resume: true, ...o }));
      await expect(resume({ train: { ...DEFAULT_TRAIN_OPTIONS, epochs: 1, batchSize: 8, lr: 1e-3 } })).rejects.toThrow(
        /--resume does not match the run recorded in .*run\.json: training\.lr: 0\.002 in the interrupted run vs 0\.001 now\. Resume with the same data and options/,
      );
      await expect(resume({ utterances: corpus.utterances.slice(1) })).rejects.toThrow(
        new RegExp(`data: ${corpus.utterances.length} utterances \\(hash [0-9a-f]{12}\\) in the interrupted run vs ${corpus.utterances.length - 1} \\(hash [0-9a-f]{12}\\) now`),
      );
      const relabelled = corpus.utterances.map((u, i) => (i === 3 ? { ...u, emotion: u.emotion === 'sad' ? 'happy' : 'sad' } : u));
      await expect(resume({ utterances: relabelled })).rejects.toThrow(/data: .*the files, their labels or their audio differ/);
      await expect(resume({ folds: { kind: 'kfold', k: 2 } })).rejects.toThrow(/folds\.k: 3 in the interrupted run vs 2 now/);
      await expect(resume({ modelConfig: (c) => ({ ...tinyModel(c), hidden: 4 }) })).rejects.toThrow(/model\.hidden: 0 in the interrupted run vs 4 now/);
      await expect(resume({ conditions: ['none'] })).rejects.toThrow(/conditions: \["concat"\] in the interrupted run vs \["none"\] now/);
    });

    it('refuses a resume after the audio of one utterance changed (same names and lengths), naming it, and changes nothing', async () => {
      const before = await snapshot(out());
      // Re-encoded, denoised, corrected: other samples under the same name, of the same length.
      const changed = corpus.utterances.map((u, i) => (i === 4 ? { ...u, samples: u.samples.map((x) => x * 0.5) } : u));
      const file = corpus.utterances[4]!.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      await expect(runExperiment(experiment(out(), { resume: true, utterances: changed }))).rejects.toThrow(
        new RegExp(`--resume does not match the run recorded in .*run\\.json: data: the audio of 1 utterance\\(s\\) differs, first: ${file} \\(audio hash [0-9a-f]{12} in the interrupted run vs [0-9a-f]{12} now\\)\\. Resume with`),
      );
      expect(await snapshot(out())).toEqual(before);
    });

    it('identifies the audio by its samples: equal samples (in other arrays too) give the same id, one changed sample another', () => {
      const input = experiment(join(dir, 'not-run'));
      const id = idOf(runIdentity(input));
      const copies = corpus.utterances.map((u) => ({ ...u, samples: u.samples.slice() }));
      expect(idOf(runIdentity(input))).toBe(id);
      expect(idOf(runIdentity({ ...input, utterances: copies }))).toBe(id);
      const changed = copies.map((u, i) => (i === 2 ? { ...u, samples: u.samples.map((x, j) => (j === 100 ? x + 0.001 : x)) } : u));
      expect(idOf(runIdentity({ ...input, utterances: changed }))).not.toBe(id);
    });

    it('reuses the finished folds of a matching resume', async () => {
      const again = await runExperiment(experiment(out(), { resume: true }));
      expect(again.conditions.concat!.report).toEqual(first.conditions.concat!.report);
    });

    it('treats a damaged fold result as absent: names the file and trains that fold again', async () => {
      const path = join(out(), 'fold2-concat.json');
      const whole = await readFile(path, 'utf8');
      await writeFile(path, whole.slice(0, whole.length >> 1));
      const warnings: string[] = [];
      const again = await runExperiment(experiment(out(), { resume: true, warn: (m) => warnings.push(m) }));
      expect(warnings).toEqual([expect.stringMatching(/fold2-concat\.json: damaged fold result \((Unexpected end of JSON input|Unterminated string in JSON|.*JSON.*)\); training fold2-concat again/)]);
      expect(again.conditions.concat!.report).toEqual(first.conditions.concat!.report);
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(JSON.parse(whole));
    });

    it('keeps each test utterance\'s emotion probabilities, and retrains a fold whose probabilities do not give its predictions', async () => {
      const path = join(out(), 'fold2-concat.json');
      const whole = await readFile(path, 'utf8');
      const result = JSON.parse(whole) as { predicted: number[]; probabilities: number[][] };
      expect(result.probabilities).toHaveLength(result.predicted.length);
      for (const [i, row] of result.probabilities.entries()) {
        expect(row).toHaveLength(corpus.classes.length);
        expect(row.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
        expect(row.indexOf(Math.max(...row))).toBe(result.predicted[i]);
      }
      // Each row rotated by one class: its argmax moves off the prediction.
      const swapped = result.probabilities.map((row) => row.map((_, j) => row[(j + 1) % row.length]));
      await writeFile(path, JSON.stringify({ ...result, probabilities: swapped }));
      const warnings: string[] = [];
      await runExperiment(experiment(out(), { resume: true, warn: (m) => warnings.push(m) }));
      expect(warnings).toEqual([expect.stringMatching(/fold2-concat\.json: damaged fold result \(its probabilities do not give its predictions\); training fold2-concat again/)]);
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(JSON.parse(whole));
    });

    it('names a damaged checkpoint and trains that fold from its first epoch', async () => {
      await rm(join(out(), 'fold1-concat.json'));
      const checkpoint = join(out(), 'fold1-concat.safetensors');
      const bytes = await readFile(checkpoint);
      await writeFile(checkpoint, bytes.subarray(0, bytes.length - 100));
      const warnings: string[] = [];
      const again = await runExperiment(experiment(out(), { resume: true, warn: (m) => warnings.push(m) }));
      expect(warnings).toEqual([expect.stringMatching(/fold1-concat\.safetensors: tensor ".*" data_offsets .* run past the end .*\(truncated file\?\); training fold1-concat from its first epoch/)]);
      expect(again.conditions.concat!.report).toEqual(first.conditions.concat!.report);
    });

    it('does not take a fold result another run left in the folder for this run', async () => {
      const path = join(out(), 'fold3-concat.json');
      const result = JSON.parse(await readFile(path, 'utf8'));
      await writeFile(path, JSON.stringify({ ...result, run: '0123456789abcdef' }));
      const warnings: string[] = [];
      await runExperiment(experiment(out(), { resume: true, warn: (m) => warnings.push(m) }));
      expect(warnings).toEqual([expect.stringMatching(/fold3-concat\.json: written by another run \(id 0123456789abcdef, this run is [0-9a-f]{16}\); training fold3-concat again/)]);
    });

    it("adds a design to a run of 'none' alone: keeps its folds, trains the added design's, and ends as the run of both would", async () => {
      const ablation = join(dir, 'added-design');
      const noneOnly = await runExperiment(experiment(ablation, { conditions: ['none'] }));
      const earlier = JSON.parse(await readFile(join(ablation, 'run.json'), 'utf8'));
      const kept = await readFile(join(ablation, 'fold1-none.json'), 'utf8');
      const warnings: string[] = [];
      const trained: string[] = [];
      const progress: ExperimentInput['progress'] = (e) => void (e.kind === 'start' && trained.push(`${e.fold + 1}-${e.condition}`));
      const both = await runExperiment(experiment(ablation, { conditions: ['concat', 'none'], resume: true, warn: (m) => warnings.push(m), progress }));
      expect(warnings).toEqual([expect.stringMatching(/added-design\/run\.json: --resume adds the design\(s\) concat to the run of none recorded there; its folds are kept$/)]);
      expect(trained).toEqual(['1-concat', '2-concat', '3-concat']);
      expect(both.conditions.none!.report).toEqual(noneOnly.conditions.none!.report);
      expect(await readFile(join(ablation, 'fold1-none.json'), 'utf8')).toBe(kept);
      const run = JSON.parse(await readFile(join(ablation, 'run.json'), 'utf8'));
      expect(run.identity.conditions).toEqual(['concat', 'none']);
      expect(run.extends).toEqual([earlier.id]);
      // The same results as the run of both designs from the start: no design's folds depend on another's.
      const fresh = await runExperiment(experiment(join(dir, 'both-designs'), { conditions: ['concat', 'none'] }));
      expect(fresh.conditions.concat!.report).toEqual(both.conditions.concat!.report);
      expect(fresh.conditions.none!.report).toEqual(both.conditions.none!.report);
      expect(JSON.parse(await readFile(join(dir, 'both-designs', 'run.json'), 'utf8')).id).toBe(run.id);
      // Resumed again, it is the run recorded now: every fold is reused, the earlier run's too.
      trained.length = 0;
      await runExperiment(experiment(ablation, { conditions: ['concat', 'none'], resume: true, progress }));
      expect(trained).toEqual([]);
      // A design taken away is another run: refused, as before.
      await expect(runExperiment(experiment(ablation, { conditions: ['concat'], resume: true }))).rejects.toThrow(/conditions: \["concat","none"\] in the interrupted run vs \["concat"\] now/);
    });
  });
});

describe('a run recorded before run.json held the audio hash', () => {
  it('still resumes, its stamped fold results and checkpoints accepted, with a warning that the audio cannot be checked', async () => {
    const out = join(dir, 'before-audio-hash');
    const first = await runExperiment(experiment(out));
    // Its files as that version wrote them: the identity without data.audio, and fold results and checkpoints
    // stamped with that identity's id (the same length as this one's, so a checkpoint's header keeps its size).
    const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    delete run.identity.data.audio;
    const old = idOf(run.identity);
    expect(old).not.toBe(run.id);
    for (const name of await readdir(out)) {
      const bytes = await readFile(join(out, name));
      await writeFile(join(out, name), Buffer.from(bytes.toString('latin1').replaceAll(run.id, old), 'latin1'));
    }
    await writeFile(join(out, 'run.json'), JSON.stringify({ ...run, id: old }, null, 2));
    await rm(join(out, 'fold1-concat.json')); // fold1 resumes from its checkpoint
    const record = await readFile(join(out, 'run.json'), 'utf8');
    const warnings: string[] = [];
    const again = await runExperiment(experiment(out, { resume: true, warn: (m) => warnings.push(m) }));
    expect(warnings).toEqual([`${join(out, 'run.json')} was written by an older version, without the audio's hash: cannot check that the audio is that run's (the files, labels and lengths match)`]);
    expect(again.conditions.concat!.report).toEqual(first.conditions.concat!.report);
    expect(await readFile(join(out, 'run.json'), 'utf8')).toBe(record);
    expect(JSON.parse(await readFile(join(out, 'fold1-concat.json'), 'utf8')).run).toBe(old);
  });
});

/** A pid no process has: a child's, once it has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

/** Every file of a folder with its bytes, to show that a refused run changed nothing. */
async function snapshot(folder: string): Promise<Record<string, string>> {
  const names = (await readdir(folder)).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await readFile(join(folder, n))).toString('base64')] as const)));
}

describe('an output folder that holds another run', () => {
  const runId = async (folder: string) => JSON.parse(await readFile(join(folder, 'run.json'), 'utf8')).id as string;

  it('is refused before anything in it changes, naming the folder and what to do; the same run runs again', async () => {
    const out = join(dir, 'held');
    await runExperiment(experiment(out));
    const before = await snapshot(out);
    const other = experiment(out, { train: { ...DEFAULT_TRAIN_OPTIONS, epochs: 1, batchSize: 8, lr: 1e-3 } });
    await expect(runExperiment(other)).rejects.toThrow(
      new RegExp(
        `output folder ${out} holds another run \\(run [0-9a-f]{16}, recorded in ${out}/run\\.json; this run is [0-9a-f]{16}: training\\.lr: 0\\.002 there vs 0\\.001 now\\)\\. ` +
          'Nothing was changed there: use another --out, --resume to continue that run \\(with its data and options\\), or --overwrite to replace it\\.',
      ),
    );
    expect(await snapshot(out)).toEqual(before);
    // The same run (the same id) runs again in its folder without --resume.
    await runExperiment(experiment(out));
    expect(Object.keys(await snapshot(out))).toEqual(Object.keys(before));
  });

  it('a folder of an older version (fold files, no run.json) is refused too, and a damaged run.json; an empty one is not', async () => {
    const legacy = join(dir, 'legacy');
    await runExperiment(experiment(legacy));
    await rm(join(legacy, 'run.json'));
    await expect(runExperiment(experiment(legacy))).rejects.toThrow(
      /output folder .*legacy holds another run \(the files of a run of an older version, without run\.json: fold1-concat\.json, .* more\)\. .*--resume to continue that run \(its files are reused unchecked\), or --overwrite/,
    );
    expect(existsSync(join(legacy, 'run.json'))).toBe(false);
    await writeFile(join(legacy, 'run.json'), '{"format":');
    await expect(runExperiment(experiment(legacy))).rejects.toThrow(/output folder .*legacy holds another run \(.*legacy\/run\.json: damaged run record \(.*\): which run it holds cannot be told\)\. Nothing was changed there: use another --out, or --overwrite to replace it\./);
    await expect(runExperiment(experiment(legacy, { resume: true }))).rejects.toThrow(/legacy\/run\.json: damaged run record .*start again in another --out folder, or replace that run with --overwrite/);
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await writeFile(join(empty, 'notes.txt'), 'mine'); // a file a run does not write is nobody's run
    await runExperiment(experiment(empty));
    expect(await readFile(join(empty, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('overwrite replaces it: the old run\'s files are gone, a run of more folds leaves none behind', async () => {
    const out = join(dir, 'overwritten');
    await runExperiment(experiment(out, { folds: { kind: 'kfold', k: 3 } }));
    await writeFile(join(out, 'notes.txt'), 'mine');
    const old = await runId(out);
    const warnings: string[] = [];
    await runExperiment(experiment(out, { folds: { kind: 'kfold', k: 2 }, overwrite: true, warn: (m) => warnings.push(m) }));
    expect(await runId(out)).not.toBe(old);
    expect((await readdir(out)).sort()).toEqual(['fold1-concat.json', 'fold1-concat.safetensors', 'fold2-concat.json', 'fold2-concat.safetensors', 'notes.txt', 'run.json']);
    expect(warnings).toEqual([expect.stringMatching(/overwritten: removed the 6 file\(s\) of the run that was there \(fold1-concat\.json, .* and 3 more\), to replace it/)]);
    await expect(runExperiment(experiment(out, { overwrite: true, resume: true }))).rejects.toThrow(/resume and overwrite contradict each other/);
  });
});

describe('one run at a time in a folder', () => {
  it('refuses a folder another live process has locked, naming the folder and the pid, and changes nothing', async () => {
    const out = join(dir, 'locked');
    await mkdir(out);
    const lock = JSON.stringify({ pid: process.ppid, host: hostname(), started: '2024-01-01T00:00:00.000Z' });
    await writeFile(join(out, 'run.lock'), lock);
    await expect(runExperiment(experiment(out))).rejects.toThrow(
      `output folder ${out} is in use by another run (process ${process.ppid}, since 2024-01-01T00:00:00.000Z): wait for it to end, or use another --out. If no run is writing there, remove ${out}/run.lock`,
    );
    expect(await readdir(out)).toEqual(['run.lock']);
    expect(await readFile(join(out, 'run.lock'), 'utf8')).toBe(lock);
  });

  it("takes over a dead process's lock with a note, and releases its own when it ends, failed or not", async () => {
    const out = join(dir, 'stale-lock');
    await mkdir(out);
    const dead = deadPid();
    await writeFile(join(out, 'run.lock'), JSON.stringify({ pid: dead, host: hostname() }));
    const warnings: string[] = [];
    await runExperiment(experiment(out, { warn: (m) => warnings.push(m) }));
    expect(warnings).toEqual([`${join(out, 'run.lock')}: took over the lock of process ${dead}, which is no longer running (a killed run)`]);
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
    const diverged = experiment(join(dir, 'failed-lock'), { train: { ...DEFAULT_TRAIN_OPTIONS, epochs: 1, batchSize: 8, lr: 1e308 } });
    await expect(runExperiment(diverged)).rejects.toThrow(TrainingDivergedError);
    expect(existsSync(join(dir, 'failed-lock', 'run.lock'))).toBe(false);
  });

  it('two runs started at once in one folder: one runs, the other is refused', async () => {
    const out = join(dir, 'at-once');
    const results = await Promise.allSettled([runExperiment(experiment(out)), runExperiment(experiment(out))]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(new RegExp(`output folder ${out} is in use by another run \\(process ${process.pid}`));
  });

  it('removes the temp files that killed writers left (ours only, of dead processes), saying so once', async () => {
    const out = join(dir, 'temp-files');
    await mkdir(out);
    const dead = deadPid();
    const stale = [`fold1-concat.safetensors.tmp-${dead}-k3j9x0ab`, `run.json.tmp-${dead}-a1`];
    const kept = [`fold2-concat.json.tmp-${process.ppid}-zz0099aa`, 'notes.tmp-old', 'data.tmp-12-X'];
    for (const name of [...stale, ...kept]) await writeFile(join(out, name), 'x');
    const warnings: string[] = [];
    await runExperiment(experiment(out, { warn: (m) => warnings.push(m) }));
    const left = await readdir(out);
    for (const name of stale) expect(left).not.toContain(name);
    for (const name of kept) expect(left).toContain(name);
    expect(warnings).toEqual([`${out}: removed 2 temp file(s) that killed runs had left: ${[...stale].sort().join(', ')}`]);
  });
});

describe('the final model', () => {
  it('is checkpointed every epoch, stamped with the run, and a resume continues it from its last epoch', async () => {
    const only = { crossValidate: false, finalModel: true, train: { ...DEFAULT_TRAIN_OPTIONS, epochs: 3, batchSize: 8 } };
    const whole = join(dir, 'final-whole');
    await runExperiment(experiment(whole, only));
    const { id } = JSON.parse(await readFile(join(whole, 'run.json'), 'utf8'));
    const checkpoint = decodeModel(await readFile(join(whole, 'final-concat.safetensors')), 'checkpoint');
    checkpoint.model.dispose();
    expect(checkpoint.metadata.run).toBe(id);
    expect(JSON.parse(checkpoint.metadata.training).epoch).toBe(3);

    // Stopped in its second epoch (a hook that throws there, before that epoch is saved), then resumed.
    const out = join(dir, 'final-killed');
    const stop = (e: { kind: string; record?: { epoch: number } }) => {
      if (e.kind === 'epoch' && e.record!.epoch === 2) throw new Error('killed');
    };
    await expect(runExperiment(experiment(out, { ...only, progress: stop }))).rejects.toThrow('killed');
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    const starts: number[] = [];
    await runExperiment(experiment(out, { ...only, resume: true, progress: (e) => void (e.kind === 'start' && starts.push(e.resumedAt)) }));
    expect(starts).toEqual([1]);
    expect(await readFile(join(out, 'model.safetensors'))).toEqual(await readFile(join(whole, 'model.safetensors')));
  });
});

// The CLI as a user runs it, built from this source (test/cli.ts).
describe('the ser command', () => {
  const cli = cliForTests();

  it('--lr 1e308: exits 1 saying the training diverged, and writes no checkpoint', async () => {
    const out = join(dir, 'cli-diverged');
    const r = await cli.run(['demo', '--speakers', '4', '--utterances', '1', '--epochs', '2', '--no-gender', '--lr', '1e308', '--out', out, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ser: training diverged in epoch 1: .* \(not finite\)\. Stopped without saving this epoch\. A lower learning rate \(--lr, now 1e\+308\)/);
    expect((await readdir(out)).filter((f) => f.endsWith('.safetensors'))).toEqual([]);
  }, 120_000);

  it('--split-seed deals the folds apart from the training seed (to add seeds to a run)', async () => {
    const out = join(dir, 'cli-split-seed');
    const r = await cli.run(['demo', '--speakers', '4', '--utterances', '1', '--epochs', '1', '--no-gender', '--seed', '4', '--split-seed', '1', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const { identity } = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(identity.splitSeed).toBe(1);
    expect(identity.training.seed).toBe(4);
  }, 120_000);

  it('--fusion film with an m5 preset (no filter bank for its gender head) is refused before anything is written', async () => {
    for (const [command, model] of [['demo', 'm5-compact'], ['train', 'm5']]) {
      const out = join(dir, `film-${model}`);
      const args = command === 'train' ? ['--corpus', 'csv', '--data', join(dir, 'nothing.csv')] : ['--speakers', '4', '--utterances', '1', '--epochs', '1'];
      const r = await cli.run([command, ...args, '--model', model, '--fusion', 'film', '--out', out]);
      expect(r.code, command).toBe(1);
      expect(r.stderr).toContain(`ser: --fusion film needs a model with a filter bank (--model default or compact), not --model ${model}`);
      expect(existsSync(out), command).toBe(false);
    }
  }, 60_000);

  it('--out /proc/x: fails at once, naming the folder', async () => {
    const r = await cli.run(['train', '--corpus', 'csv', '--data', join(dir, 'nothing.csv'), '--out', '/proc/x'], { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ser: output folder \/proc\/x: cannot create \/proc\/x/);
    expect(r.ms).toBeLessThan(15_000);
  }, 30_000);

  it('predict and eval refuse a model with NaN weights, naming the file', async () => {
    const model = new SerModel(compactModelConfig(['angry', 'sad']), 4);
    const { tensors, metadata } = decodeSafetensors(await encodeModel(model));
    model.dispose();
    tensors['emotion.weight'].data.fill(NaN);
    const path = join(dir, 'nan-model.safetensors');
    await writeFile(path, encodeSafetensors(tensors, metadata));
    const wav = join(dir, 'speech.wav');
    await writeFile(wav, encodeWav16(synthesizeUtterance(makeVoice(0, 7), 'angry', 3, 1.2, 16000), 16000));
    const predict = await cli.run(['predict', wav, '--model', path]);
    expect(predict.code).toBe(1);
    expect(predict.stderr).toMatch(/nan-model\.safetensors: tensor "emotion\.weight" holds NaN at index 0: weights must be finite/);
    expect(predict.stdout).toBe('');
    const evaluate = await cli.run(['eval', '--model', path, '--corpus', 'csv', '--data', join(dir, 'nothing.csv')]);
    expect(evaluate.code).toBe(1);
    expect(evaluate.stderr).toMatch(/nan-model\.safetensors: tensor "emotion\.weight" holds NaN/);
  }, 60_000);

  it("refuses at once a corpus whose emotions no checkpoint could carry, rather than training a model that ser predict refuses", async () => {
    // A CSV manifest's emotion of 101 characters: decodeModel's bound on class names (CONFIG_LIMITS).
    const data = join(dir, 'long-label-corpus');
    await prepareOutputDir(data);
    const long = 'x'.repeat(101);
    const rows = ['path,emotion,speaker,gender'];
    for (let i = 0; i < 8; i++) {
      await writeFile(join(data, `u${i}.wav`), encodeWav16(synthesizeUtterance(makeVoice(i % 4 < 2 ? 0 : 1, 7 + (i % 4)), 'angry', i, 1.1, 16000), 16000));
      rows.push(`u${i}.wav,${i % 2 ? long : 'angry'},s${i % 4},${i % 4 < 2 ? 'f' : 'm'}`);
    }
    await writeFile(join(data, 'manifest.csv'), rows.join('\n'));
    const out = join(dir, 'long-label-run');
    const r = await cli.run(['train', '--corpus', 'csv', '--data', data, '--out', out, '--final-only', '--epochs', '1', '--model', 'compact', '--no-gender', '--folds', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ser: ${data}: the corpus's emotions cannot make a model: config.classes[1] must be a non-empty name of at most 100 characters`);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
  }, 60_000);

  it('--final-only --json names the model it trained, and refuses --seeds, which has no cross-validation to repeat', async () => {
    const out = join(dir, 'cli-final-only');
    const tiny = ['demo', '--speakers', '4', '--utterances', '1', '--epochs', '1', '--no-gender', '--model', 'compact', '--final-only', '--out', out, '--json'];
    const r = await cli.run(tiny);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ classes: expect.any(Array), genderEffect: {}, model: join(out, 'model.safetensors') });
    const seeds = await cli.run([...tiny, '--seeds', '2']);
    expect(seeds.code).toBe(1);
    expect(seeds.stderr).toContain('--final-only trains one model, with --seed: --seeds 2 has no cross-validation to repeat');
  }, 120_000);

  it('eval says how many utterances it dropped for labels the model does not know, and which', async () => {
    const model = new SerModel(compactModelConfig(['angry', 'sad']), 4);
    const path = join(dir, 'two-class.safetensors');
    await writeFile(path, await encodeModel(model));
    model.dispose();
    const data = join(dir, 'eval-corpus');
    await prepareOutputDir(data);
    const rows = ['path,emotion,speaker,gender'];
    const labels = ['angry', 'sad', 'happy', 'Happy', 'calm', 'angry'];
    for (const [i, label] of labels.entries()) {
      await writeFile(join(data, `u${i}.wav`), encodeWav16(synthesizeUtterance(makeVoice(i % 2, 7), 'angry', i, 1.1, 16000), 16000));
      rows.push(`u${i}.wav,${label},s${i % 2},${i % 2 ? 'm' : 'f'}`);
    }
    await writeFile(join(data, 'manifest.csv'), rows.join('\n'));
    const r = await cli.run(['eval', '--model', path, '--corpus', 'csv', '--data', data, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/dropped 3 utterance\(s\) whose emotion the model does not know: "happy" \(2\), "calm" \(1\); the model's classes are angry, sad; their audio still goes into their speakers' normalisation/);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).classes).toEqual(['angry', 'sad']);
  }, 60_000);
});
