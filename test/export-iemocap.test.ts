// `ser export --format pytorch` of an IEMOCAP-like corpus, and train_ddp.py on it against the engine: the
// exported corpus carries the split groups (sessions) and the utterances outside the classes; train_ddp.py deals
// `ser train`'s folds for the same seed (whole sessions out), and adapts a test speaker's batch norm to the scored
// and the unscored audio, as a fold of `ser train` does. Corpus files exported before they carried either still
// load: each speaker its own group, no unscored audio. test/python/torch_parity.py is the PyTorch side.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { encodeWav16 } from '../src/audio/index.js';
import { init } from '../src/engine/context.js';
import { compactModelConfig } from '../src/model/config.js';
import { decodeModel, encodeModel } from '../src/model/model-file.js';
import { SerModel } from '../src/model/ser-model.js';
import { encodeCorpus } from '../src/export/pytorch.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { loadCorpusAudio, readCorpus } from '../src/train/corpora/index.js';
import type { LoadedUtterance } from '../src/train/corpora/types.js';
import { toExamples, toUnscored } from '../src/train/dataset.js';
import { predictExamples } from '../src/train/evaluate.js';
import { corpusSpeakers, speakerFolds, type FoldScheme } from '../src/train/folds.js';
import { cliForTests } from './cli.js';
import { emoEvaluation, writeIemocapTree } from './iemocap-fixture.js';
import { tempDirForTests } from './temp-dir.js';
import { PYTHON, relL2, runPython, torchMissing } from './torch.js';

const PARITY = new URL('python/torch_parity.py', import.meta.url).pathname;
const noTorch = torchMissing();

function skipWithoutTorch(ctx: TestContext): void {
  if (noTorch) {
    console.warn(`skipped: ${noTorch}`);
    ctx.skip(noTorch);
  }
}

type Case = [scheme: number | 'loso' | 'pairs', seed: number, validation: number];
const schemeOf = (s: Case[0]): FoldScheme => (typeof s === 'number' ? { kind: 'kfold', k: s } : { kind: s });
// Every scheme with seeds 1, 2, 3, 7 and 0 or 1 validation units, and a few with more.
const CASES: Case[] = [
  ...[5, 2, 'loso', 'pairs'].flatMap((scheme) => [1, 2, 3, 7].flatMap((seed) => [0, 1].map((v): Case => [scheme as Case[0], seed, v]))),
  [5, 1, 2], ['loso', 3, 3], ['pairs', 2, 2],
];

/** The engine's folds of these utterances per case, as train_ddp.py's speaker_folds writes them. */
const engineFolds = (utterances: LoadedUtterance[], cases: Case[]) =>
  cases.map(([scheme, seed, validationSpeakers]) =>
    speakerFolds(corpusSpeakers(utterances), schemeOf(scheme), { seed, validationSpeakers }).map((f) => ({ train: f.trainSpeakers, validation: f.validationSpeakers, test: f.testSpeakers })),
  );

/** train_ddp.py's folds, each list in the engine's natural order for comparison. */
function pythonFolds(exportDir: string, corpus: string, cases: Case[]) {
  const out = `${corpus}.folds.json`;
  runPython([PARITY, 'folds', exportDir, corpus, JSON.stringify(cases), out]);
  const result = JSON.parse(readFileSync(out, 'utf8')) as { groups: string[][]; unscored: number; examples: number; folds: { train: string[]; validation: string[]; test: string[] }[][] };
  return result;
}

describe('export to PyTorch: IEMOCAP sessions and unscored utterances', () => {
  const dir = tempDirForTests('ser-export-iemocap-');
  const cli = cliForTests();
  const exported = () => join(dir(), 'export');
  const corpusFile = () => join(exported(), 'corpus.safetensors');
  let loaded: Awaited<ReturnType<typeof loadCorpusAudio>>;
  let classes: string[];
  let exportRun: { code: number | null; stderr: string };

  beforeAll(async () => {
    await init({ backend: 'cpu' });
    const tree = await writeIemocapTree(join(dir(), 'iemocap'));
    const corpus = await readCorpus('iemocap', tree);
    classes = corpus.classes;
    loaded = await loadCorpusAudio(corpus, { sampleRate: 16000 });
    const model = new SerModel(compactModelConfig(classes), 3);
    writeFileSync(join(dir(), 'model.safetensors'), await encodeModel(model));
    model.dispose();
    exportRun = await cli.run(['export', '--format', 'pytorch', '--model', join(dir(), 'model.safetensors'), '--out', exported(), '--corpus', 'iemocap', '--data', tree]);
  });

  it('ser export writes the sessions, in the order folds are dealt from, and the unscored utterances', () => {
    expect(exportRun.code, exportRun.stderr).toBe(0);
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(corpusFile())));
    expect(JSON.parse(metadata.groups)).toEqual([1, 2, 3, 4, 5].map((n) => [`Ses0${n}F`, `Ses0${n}M`]));
    const unscored = JSON.parse(metadata.unscored) as { file: string; speaker: string; emotion: string; tensor: string }[];
    expect(unscored.map((u) => `${u.speaker} ${u.emotion}`)).toEqual(loaded.unscored.map((u) => `${u.speaker} ${u.emotion}`));
    expect(new Set(unscored.map((u) => u.emotion))).toEqual(new Set(['frustrated', 'xxx']));
    expect(unscored.length).toBe(20);
    unscored.forEach((u, i) => expect(tensors[u.tensor].data).toEqual(loaded.unscored[i].samples));
    expect(JSON.parse(metadata.utterances).length).toBe(20);
  });

  it('ser export --no-merge-excited keeps excited out of happy, unscored, as ser train --no-merge-excited reads IEMOCAP', async () => {
    const tree = await writeIemocapTree(join(dir(), 'iemocap-excited'));
    const name = 'Ses01F_impro02_F000';
    mkdirSync(join(tree, 'Session1/sentences/wav/Ses01F_impro02'), { recursive: true });
    writeFileSync(join(tree, `Session1/sentences/wav/Ses01F_impro02/${name}.wav`), encodeWav16(new Float32Array(8000).fill(0.1).map((v, i) => v * Math.sin(i)), 16000));
    writeFileSync(join(tree, 'Session1/dialog/EmoEvaluation/Ses01F_impro02.txt'), emoEvaluation([name, 'exc']));
    const labelOf = async (...flags: string[]) => {
      const out = join(dir(), `export-excited${flags.join('')}`);
      const run = await cli.run(['export', '--format', 'pytorch', '--model', join(dir(), 'model.safetensors'), '--out', out, '--corpus', 'iemocap', '--data', tree, ...flags]);
      expect(run.code, run.stderr).toBe(0);
      const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(join(out, 'corpus.safetensors'))));
      const find = (key: string) => (JSON.parse(metadata[key]) as { file: string; emotion: string }[]).find((u) => u.file.endsWith(`${name}.wav`))?.emotion;
      return { scored: find('utterances'), unscored: find('unscored') };
    };
    expect(await labelOf()).toEqual({ scored: 'happy', unscored: undefined });
    expect(await labelOf('--no-merge-excited')).toEqual({ scored: undefined, unscored: 'excited' });
  });

  it("train_ddp.py deals ser train's folds for each scheme, seed and validation count: whole sessions", (ctx) => {
    skipWithoutTorch(ctx);
    const theirs = pythonFolds(exported(), corpusFile(), CASES);
    expect([theirs.examples, theirs.unscored]).toEqual([20, 20]);
    expect(theirs.folds).toEqual(engineFolds(loaded.utterances, CASES));
    // Whole sessions: no fold tests one actor of a session and trains on the other.
    const session = (id: string) => id.slice(0, 5);
    for (const f of theirs.folds.flat()) {
      const tested = new Set(f.test.map(session));
      expect([...f.train, ...f.validation].filter((id) => tested.has(session(id)))).toEqual([]);
    }
  });

  it('a corpus file exported before groups and unscored utterances loads with each speaker a group, and deals ungrouped folds', async (ctx) => {
    skipWithoutTorch(ctx);
    // EMO-DB-like ids, so that the order of ids without the exported one ("9" before "10") is the engine's.
    const ids = [['03', 'm'], ['08', 'f'], ['9', 'f'], ['10', 'm'], ['11', 'm'], ['12', 'm'], ['13', 'f'], ['14', 'f'], ['15', 'm'], ['16', 'f']] as const;
    const utterances: LoadedUtterance[] = ids.flatMap(([speaker, gender]) =>
      ['angry', 'sad'].map((emotion) => ({ file: `${speaker}${emotion}.wav`, speaker, gender, emotion, samples: new Float32Array(16000).fill(0.1) })),
    );
    const { tensors, metadata } = decodeSafetensors(encodeCorpus({ name: 'old', utterances }, classes, 16000));
    const { groups: _groups, unscored: _unscored, ...older } = metadata;
    const named = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
    const file = join(dir(), 'old-corpus.safetensors');
    writeFileSync(file, encodeSafetensors(named, older));
    const theirs = pythonFolds(exported(), file, CASES);
    expect(theirs.groups).toEqual(ids.map(([id]) => [id]).sort((a, b) => Number(a[0]) - Number(b[0])));
    expect(theirs.unscored).toBe(0);
    expect(theirs.folds).toEqual(engineFolds(utterances, CASES));
  });

  it("train_ddp.py adapts a test speaker's batch norm to its scored and unscored audio, as ser train's fold does", async (ctx) => {
    skipWithoutTorch(ctx);
    await init({ backend: 'cpu' });
    const { model } = decodeModel(new Uint8Array(readFileSync(join(exported(), 'model.safetensors'))), 'exported');
    const speakers = ['Ses02F', 'Ses02M'];
    const L = model.config.windowSamples;
    const test = toExamples(loaded.utterances, classes, L).filter((e) => speakers.includes(e.speaker));
    const unscored = toUnscored(loaded.unscored, L).filter((e) => speakers.includes(e.speaker));
    const ours = await predictExamples(model, test, { useTrueGender: true, unscored });
    const keptOnly = await predictExamples(model, test, { useTrueGender: true });
    model.dispose();
    const out = join(dir(), 'speakers.safetensors');
    runPython([PARITY, 'speakers', exported(), corpusFile(), speakers.join(','), out]);
    const theirs = decodeSafetensors(new Uint8Array(readFileSync(out))).tensors;
    const flat = (ps: typeof ours, key: 'probabilities' | 'genderProbabilities') => ps.flatMap((p) => p[key]);
    const pythonEmotion = test.flatMap((_, i) => [...theirs[`p.${i}`].data]);
    const pythonGender = test.flatMap((_, i) => [...theirs[`g.${i}`].data]);
    const error = relL2(pythonEmotion, flat(ours, 'probabilities'));
    const withoutUnscored = relL2(flat(keptOnly, 'probabilities'), flat(ours, 'probabilities'));
    console.log(`IEMOCAP fixture, ${test.length} utterances: PyTorch vs engine ${error.toExponential(2)}; the engine without the unscored audio ${withoutUnscored.toExponential(2)}`);
    expect(error).toBeLessThan(1e-5);
    expect(relL2(pythonGender, flat(ours, 'genderProbabilities'))).toBeLessThan(1e-5);
    // The unscored audio matters here, so that the agreement above is not the kept audio's alone.
    expect(withoutUnscored).toBeGreaterThan(100 * error);
  });

  it('train_ddp.py --fold trains on the fold of ser train, validates and stops early as it does, and scores its session; --test-speakers must hold out whole sessions', (ctx) => {
    skipWithoutTorch(ctx);
    const train = (...args: string[]) =>
      spawnSync(PYTHON, [join(exported(), 'train_ddp.py'), '--model', join(exported(), 'model.safetensors'), '--corpus', corpusFile(), '--out', join(dir(), 'trained.safetensors'), '--epochs', '1', '--cpu', ...args], { encoding: 'utf8', timeout: 90_000 });
    const run = train('--fold', '2', '--folds', '5', '--seed', '4', '--split-seed', '2');
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const fold = speakerFolds(corpusSpeakers(loaded.utterances), { kind: 'kfold', k: 5 }, { seed: 2, validationSpeakers: 0 })[1];
    expect(lines[0]).toEqual({ fold: 2, train: fold.trainSpeakers, validation: [], test: fold.testSpeakers });
    const scored = lines.at(-1);
    expect(scored.test).toEqual(fold.testSpeakers);
    expect(scored.n).toBe(4); // two actors' angry and sad utterances; the unscored ones only adapt
    // Validation sessions for early stopping, as `ser train --validation-speakers 1 --patience 1`: the fold's,
    // out of training; the run stops once an epoch brings no better validation UA and keeps the best epoch.
    const stopping = train('--fold', '3', '--split-seed', '5', '--validation-speakers', '1', '--patience', '1', '--epochs', '4');
    expect(stopping.status, stopping.stderr).toBe(0);
    const records = stopping.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const third = speakerFolds(corpusSpeakers(loaded.utterances), { kind: 'kfold', k: 5 }, { seed: 5, validationSpeakers: 1 })[2];
    expect(third.validationSpeakers.length).toBe(2);
    expect(records[0]).toEqual({ fold: 3, train: third.trainSpeakers, validation: third.validationSpeakers, test: third.testSpeakers });
    const epochs = records.filter((r) => 'epoch' in r);
    const uas = epochs.map((r) => r.validationUa as number);
    expect(uas.every((ua) => ua >= 0 && ua <= 1)).toBe(true);
    const best = uas.indexOf(Math.max(...uas)) + 1;
    expect(epochs.length).toBe(Math.min(4, best + 1));
    expect(records.find((r) => 'bestEpoch' in r)).toEqual({ bestEpoch: best, validationUa: uas[best - 1] });
    expect(train('--test-speakers', 'Ses01F,Ses01M', '--validation-speakers', '1').stderr).toMatch(/--validation-speakers goes with --fold/);

    const split = train('--test-speakers', 'Ses01F');
    expect(split.status).not.toBe(0);
    expect(split.stderr).toMatch(/--test-speakers: Ses01F, Ses01M form one split group/);
  });
});
