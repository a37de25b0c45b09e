// The `ser` command: train (speaker-independent cross-validation with and without the gender input),
// eval (a trained model on a corpus), predict (probabilities per emotion for WAV files), demo (the embedded
// synthetic corpus end to end), export (a checkpoint for PyTorch or ONNX), ensemble (several trained networks as
// one model file) and web (the demo page on loopback).

import { Command, InvalidArgumentError, Option } from 'commander';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init } from '../engine/context.js';
import { MAX_SEED } from '../engine/random.js';
import { MAX_SPAN_WIDTH } from '../kernels/optim.js';
import { GENDER_DESIGNS, MODEL_PRESETS, POOLINGS, type GenderDesign, type ModelConfig, type ModelPreset, type Pooling } from '../model/config.js';
import { decodeModel } from '../model/model-file.js';
import { validateModelConfig } from '../model/validate-config.js';
import { AudioError, fixedWindows, loadAudio } from '../audio/index.js';
import { checkLoaded, loadCorpusAudio, readCorpus, type CorpusKind } from '../train/corpora/index.js';
import { toExamples, toUnscored } from '../train/dataset.js';
import { predictExamples } from '../train/evaluate.js';
import { runExperiment, type Condition, type ExperimentInput, type ExperimentResult } from '../train/experiment.js';
import { prepareOutputDir } from '../io/out-dir.js';
import { lockFolder, removeStaleTemps } from '../io/folder-lock.js';
import { checkRunFolder } from '../train/run-record.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readCheckpointFile } from '../io/safetensors-file.js';
import type { FoldScheme } from '../train/folds.js';
import { accuracy, classificationReport } from '../train/metrics.js';
import { generateSyntheticCorpus } from '../train/synthetic.js';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../train/trainer.js';
import { adaptNormalization } from '../model/adapt.js';
import { classify } from '../model/recognizer.js';
import { genderOneHot, GENDERS } from '../model/ser-model.js';
import { shippedModelUrl, SHIPPED_MODEL_DESCRIPTION } from '../model/shipped.js';
import { evalJson, predictionText, printEval, printSummary, seedsSummary, summaryJson, writeRunReport, TrainingProgress, type EvalResult, type EvalScore } from './output.js';
import { clearOtherLayout, clearSeedFolders, seedFolder, seedResults } from './seed-folders.js';
import { loadTuning, saveTuning, tuningPath } from './tuning-file.js';
import { addExportCommand } from '../export/command.js';
import { addEnsembleCommand } from './ensemble.js';
import { decibelRange, fraction, int, nonNegative, num, port, seedNumber } from './arguments.js';

const CORPORA: CorpusKind[] = ['emodb', 'ravdess', 'cremad', 'iemocap', 'casia', 'csv'];

/** --folds: a number k (k-fold by speaker), 'loso' (leave one speaker out) or 'pairs' (one female+male pair out);
 * speakers a corpus groups (IEMOCAP's sessions) are held out together under each. */
function foldScheme(v: string): FoldScheme {
  if (v === 'loso') return { kind: 'loso' };
  if (v === 'pairs') return { kind: 'pairs' };
  const k = Number(v);
  if (!Number.isInteger(k) || k < 2) throw new InvalidArgumentError(`--folds must be a number >= 2, 'loso' or 'pairs'`);
  return { kind: 'kfold', k };
}

interface TrainFlags {
  corpus: CorpusKind;
  data: string;
  folds: FoldScheme;
  epochs: number;
  gender: boolean;
  fusion: Exclude<GenderDesign, 'none'>;
  validationSpeakers: number;
  out: string;
  model: ModelPreset;
  /** Undefined: the preset's. */
  pooling?: Pooling;
  batchSize: number;
  lr: number;
  speedPerturbation: number;
  maskBands: number;
  maskFrames: number;
  /** Undefined: no additive noise. */
  noiseSnr?: [number, number];
  seed: number;
  seeds: number;
  /** Undefined: --seed's. */
  splitSeed?: number;
  patience: number;
  strict: boolean;
  resume: boolean;
  overwrite: boolean;
  final: boolean;
  finalOnly: boolean;
  json: boolean;
  profile: boolean;
  /** Undefined: the engine's default (on for GPUs, off for CPU drivers). */
  tune?: boolean;
  mergeExcited: boolean;
}

/** The synthetic demo's epochs: its corpus is learnt in 20 (the README's demo figures), in half the time. */
const DEMO_EPOCHS = 20;

/** SpecAugment's count: two spans of bands and two of frames per window (its LibriSpeech policies' mF = mT = 2). */
const SPEC_AUGMENT_MASKS = 2;

function trainingOptions(flags: Pick<TrainFlags, 'epochs' | 'batchSize' | 'lr' | 'speedPerturbation' | 'maskBands' | 'maskFrames' | 'noiseSnr' | 'seed' | 'patience'>): TrainOptions {
  const { epochs, batchSize, lr, speedPerturbation, maskBands, maskFrames, noiseSnr, seed, patience } = flags;
  // Absent when off (TrainOptions.specAugment, noiseSnrDb): runs without them keep the identity they had.
  const specAugment = maskBands || maskFrames ? { specAugment: { masks: SPEC_AUGMENT_MASKS, maxBands: maskBands, maxFrames: maskFrames } } : {};
  const noise = noiseSnr ? { noiseSnrDb: noiseSnr } : {};
  return { ...DEFAULT_TRAIN_OPTIONS, epochs, batchSize, lr, speedPerturbation, seed, patience, ...specAugment, ...noise };
}

/** The configuration of --model's preset, with --pooling's pooling where given. */
function modelConfigOf(flags: Pick<TrainFlags, 'model' | 'pooling'>): (classes: string[]) => ModelConfig {
  const preset = MODEL_PRESETS[flags.model];
  const pooling = flags.pooling;
  return pooling ? (classes) => ({ ...preset(classes), pooling }) : preset;
}

function addTrainingFlags(cmd: Command, defaults: { epochs: number; model: ModelPreset; folds: string; final: boolean }): Command {
  const finalFlag = defaults.final
    ? new Option('--no-final', 'skip training the final model (model.safetensors) on all speakers')
    : new Option('--final', 'also train the final model (model.safetensors) on all speakers').default(false);
  return cmd
    // The default as the user writes it: --help had shown the parsed object, {"kind":"kfold","k":5}.
    .addOption(new Option('--folds <k|loso|pairs>', 'speaker-independent folds: k (k-fold by speaker), loso, or pairs; IEMOCAP holds out whole sessions').argParser(foldScheme).default(foldScheme(defaults.folds), defaults.folds))
    .option('--epochs <n>', 'maximum epochs per fold', int('--epochs'), defaults.epochs)
    .addOption(new Option('--fusion <design>', "how the gender takes part, compared against 'none' on the same folds and seeds").choices(GENDER_DESIGNS.filter((d) => d !== 'none')).default('concat'))
    .option('--no-gender', "train only the design 'none' (no gender input, no gender loss)")
    .option('--validation-speakers <n>', 'per fold, training speakers held out for early stopping (0: a fixed number of epochs)', nonNegative('--validation-speakers'), 0)
    .addOption(new Option('--model <preset>', 'layer sizes').choices(Object.keys(MODEL_PRESETS)).default(defaults.model))
    .addOption(new Option('--pooling <kind>', "how the last block's output is pooled over time: the mean, its mean and standard deviation (stats), or both weighted by learned frame scores (attentive) (default: the preset's)").choices(POOLINGS))
    .option('--batch-size <n>', 'windows per batch', int('--batch-size'), DEFAULT_TRAIN_OPTIONS.batchSize)
    .option('--lr <x>', 'peak learning rate (cosine schedule)', num('--lr'), DEFAULT_TRAIN_OPTIONS.lr)
    .option('--speed-perturbation <p>', 'augmentation: each training window replayed at a random rate in [1 - p, 1 + p] (0: off)', fraction('--speed-perturbation'), DEFAULT_TRAIN_OPTIONS.speedPerturbation)
    .option('--mask-bands <n>', `augmentation (SpecAugment): in each training window, ${SPEC_AUGMENT_MASKS} spans of up to n filter-bank bands zeroed (0: off)`, nonNegative('--mask-bands'), 0)
    .option('--mask-frames <n>', `augmentation (SpecAugment): in each training window, ${SPEC_AUGMENT_MASKS} spans of up to n frames (10 ms each) zeroed (0: off)`, nonNegative('--mask-frames'), 0)
    .option('--noise-snr <low,high>', 'augmentation: white noise added to each training window at an SNR drawn from [low, high] dB of its power (default: off)', decibelRange('--noise-snr'))
    .option('--patience <n>', 'early stopping: epochs without a better validation UA', int('--patience'), DEFAULT_TRAIN_OPTIONS.patience)
    .option('--seed <n>', 'seed for initialisation, shuffling and dropout', seedNumber('--seed'), DEFAULT_TRAIN_OPTIONS.seed)
    .option('--seeds <n>', 'repeat the whole experiment with n training seeds (seed, seed + 1, ...) on the same folds, and report the spread', int('--seeds'), 1)
    .option('--split-seed <n>', "seed of the folds' order and validation speakers (default: --seed); e.g. --seed 4 --seeds 2 --split-seed 1 adds seeds 4 and 5 on the folds of a --seeds 3 run", seedNumber('--split-seed'))
    .option('--resume', 'continue a killed run from the checkpoints in --out', false)
    .option('--overwrite', 'replace the run that --out holds (its files are removed), where another one is refused', false)
    .addOption(finalFlag)
    .option('--final-only', 'skip the cross-validation: train only the final model on all speakers', false)
    .option('--profile', 'print the per-kernel GPU time of the run (needs timestamp-query)', false)
    .option('--tune', 'time the candidate kernels of each new shape and keep the fastest, saved per adapter (default on GPUs)')
    .option('--no-tune', 'use the rule-based kernel choices (default on CPU drivers)')
    .option('--json', 'print one JSON summary object as the last line', false);
}

/** Flag combinations no model can be built from, refused before --out is touched: FiLM's gender head reads the
 * filter bank's statistics, which the m5 presets lack (SerModel refused it only when the first fold began, after
 * the corpus was read, naming neither flag). */
function checkTrainingFlags(flags: Pick<TrainFlags, 'gender' | 'fusion' | 'model' | 'maskBands' | 'maskFrames' | 'final' | 'finalOnly' | 'seed' | 'seeds' | 'resume' | 'overwrite'>, cmd: Command): void {
  // Flags that contradict each other, refused rather than one of them dropped in silence: --fusion under
  // --no-gender trained 'none' alone, and --final-only --no-final trained the final model and nothing else.
  const given = (option: string) => cmd.getOptionValueSource(option) === 'cli';
  if (!flags.gender && given('fusion')) throw new Error(`--fusion ${flags.fusion} and --no-gender contradict each other: --no-gender trains only the design 'none'`);
  if (flags.finalOnly && !flags.final && given('final')) throw new Error('--final-only and --no-final contradict each other: --final-only trains only the final model');
  if (flags.resume && flags.overwrite) throw new Error('--resume and --overwrite contradict each other: --resume continues the run in --out, --overwrite replaces it');
  const hasFilterBank = !!MODEL_PRESETS[flags.model](['a', 'b']).frontEnd;
  if (flags.gender && flags.fusion === 'film' && !hasFilterBank) {
    throw new Error(`--fusion film needs a model with a filter bank (--model default or compact), not --model ${flags.model}`);
  }
  for (const [flag, width] of [['--mask-bands', flags.maskBands], ['--mask-frames', flags.maskFrames]] as const) {
    if (width > MAX_SPAN_WIDTH) throw new Error(`${flag} ${width}: at most ${MAX_SPAN_WIDTH}`);
  }
  if ((flags.maskBands || flags.maskFrames) && !hasFilterBank) {
    throw new Error(`--mask-bands and --mask-frames mask the filter bank's bands and frames: they need --model default or compact, not --model ${flags.model}`);
  }
  // --seeds repeats the cross-validation, which --final-only skips: it had trained N final models and written a
  // seeds table with nothing in it.
  if (flags.finalOnly && flags.seeds > 1) throw new Error(`--final-only trains one model, with --seed: --seeds ${flags.seeds} has no cross-validation to repeat`);
  if (flags.seed + flags.seeds - 1 > MAX_SEED) throw new Error(`--seed ${flags.seed} --seeds ${flags.seeds} runs past the largest seed, ${MAX_SEED}`);
}

async function runTraining(flags: TrainFlags, corpusName: string, classes: string[], utterances: ExperimentInput['utterances'], unscored: ExperimentInput['unscored'] = []) {
  const engine = await init(flags.tune === undefined ? {} : { tune: flags.tune });
  const tuner = engine.runtime?.tuner;
  let saveError: Error | null = null;
  if (tuner?.enabled) {
    await loadTuning(engine);
    // Saved after every tuning pass, so that a killed run's resume finds them; a cache that cannot be written
    // costs the next run a tuning pass, not this run.
    tuner.onTuned = () => saveTuning(engine).catch((e) => void (saveError = e as Error));
  }
  const profiler = flags.profile ? engine.runtime?.enableProfiler() : undefined;
  const conditions: Condition[] = flags.gender ? [flags.fusion, 'none'] : ['none'];
  const input = (seed: number, outDir: string, finalModel: boolean): ExperimentInput => ({
    corpusName,
    classes,
    utterances,
    unscored,
    modelConfig: modelConfigOf(flags),
    train: { ...trainingOptions(flags), seed },
    folds: flags.folds,
    splitSeed: flags.splitSeed ?? flags.seed,
    validationSpeakers: flags.validationSpeakers,
    conditions,
    outDir,
    resume: flags.resume,
    overwrite: flags.overwrite,
    finalModel: finalModel || flags.finalOnly,
    crossValidate: !flags.finalOnly,
  });
  const warn = (message: string) => console.error(message);
  const experiment = async (seed: number, outDir: string, finalModel: boolean, clearFolder?: () => Promise<void>) => {
    const progress = flags.json ? undefined : new TrainingProgress();
    let reportPath: string | undefined;
    // --final-only scores nothing: its empty report had replaced report.md and results.json of the
    // cross-validation run in the same folder (the usual way to add the final model to one).
    const report = flags.finalOnly ? undefined : async (result: ExperimentResult) => void (reportPath = await writeRunReport(outDir, result));
    const result = await runExperiment({ ...input(seed, outDir, finalModel), progress: progress?.handle, report, clearFolder }).finally(() => progress?.stop()); // failed too: the bar would keep the terminal as TrainingProgress.stop says
    return { result, reportPath };
  };
  if (flags.seeds > 1) {
    // One experiment per training seed, each in its own folder, all on the folds of --split-seed (or --seed). The
    // outer folder is locked too (its seeds.md), and every seed folder in it is checked before the first seed
    // trains (a refusal at the third seed came after hours): this run's, and those beside them (clearSeedFolders),
    // and a single run at the top, which the seeds would have joined in silence (clearOtherLayout). The seed
    // folders first: their removal, refused for a folder in use, removes nothing.
    const lock = await lockFolder(flags.out, warn);
    try {
      await removeStaleTemps(flags.out, warn);
      const seeds = Array.from({ length: flags.seeds }, (_, i) => ({ seed: flags.seed + i, outDir: seedFolder(flags.out, flags.seed + i), finalModel: flags.final && i === 0 }));
      for (const { seed, outDir, finalModel } of seeds) await checkRunFolder(input(seed, outDir, finalModel));
      const seedInput = (seed: number, outDir: string) => input(seed, outDir, false);
      await clearSeedFolders(flags.out, seeds.map((s) => s.seed), seedInput, flags.overwrite, warn);
      await clearOtherLayout(flags.out, true, flags, warn);
      for (const { seed, outDir, finalModel } of seeds) await experiment(seed, outDir, finalModel);
      // Every seed of the experiment in --out, those that earlier runs added too.
      const { finished, unfinished } = await seedResults(flags.out, seedInput);
      const summary = seedsSummary(corpusName, finished, unfinished);
      await writeFileAtomic(join(flags.out, 'seeds.md'), summary.markdown);
      if (flags.json) console.log(JSON.stringify(summary.json));
      else console.log(`\n${summary.text}\nreport: ${join(flags.out, 'seeds.md')} (and one folder per seed)`);
    } finally {
      await lock.release();
    }
  } else {
    // Seed folders beside it would have been another experiment in the same folder. Checked holding the folder's
    // lock, once the folds are dealt: a run refused for its folds removes nothing, even with --overwrite.
    const { result, reportPath } = await experiment(flags.seed, flags.out, flags.final, () => clearOtherLayout(flags.out, false, flags, warn));
    if (flags.json) console.log(JSON.stringify(summaryJson(result)));
    else printSummary(result, reportPath);
  }
  if (tuner?.results.length) {
    const saved = saveError ? `not saved: ${(saveError as Error).message}` : `saved to ${tuningPath()}`;
    console.error(`tuning: timed the candidate kernels of ${tuner.results.length} problem shape(s); choices ${saved}`);
  }
  if (profiler) {
    const { formatProfile } = await import('../gpu/profiler.js');
    console.error(formatProfile(await profiler.table()));
  }
}

const program = new Command('ser').description('Speech emotion recognition on WebGPU: a gender-aware raw-waveform CNN');

addTrainingFlags(
  program
    .command('train')
    .description('train and evaluate speaker-independently, with and without the gender input')
    .addOption(new Option('--corpus <name>', 'corpus layout').choices(CORPORA).makeOptionMandatory())
    .requiredOption('--data <dir>', 'the corpus folder (or CSV manifest)')
    .requiredOption('--out <dir>', 'where checkpoints, results and the report go')
    .option('--strict', 'refuse (instead of skipping) corrupt or unreadable audio files', false)
    .option('--no-merge-excited', 'IEMOCAP: keep excited out of happy'),
  { epochs: DEFAULT_TRAIN_OPTIONS.epochs, model: 'default', folds: '5', final: true },
).action(async (flags: TrainFlags, cmd: Command) => {
  checkTrainingFlags(flags, cmd);
  await prepareOutputDir(flags.out); // before reading the corpus: a bad --out fails in a second, not after hours
  const corpus = await readCorpus(flags.corpus, flags.data, { mergeExcited: flags.mergeExcited });
  const preset = modelConfigOf(flags)(corpus.classes);
  // Every checkpoint of the run must load again (decodeModel validates its configuration): a label set it would
  // refuse (a CSV manifest's 65th emotion, or one of 101 characters) is refused now, not after hours of training.
  validateModelConfig(preset, `${flags.data}: the corpus's emotions cannot make a model`);
  const loaded = await loadCorpusAudio(corpus, { sampleRate: preset.sampleRate, strict: flags.strict });
  for (const s of loaded.skipped) console.error(`skipped ${s.reason}`);
  checkLoaded(flags.data, corpus, loaded);
  await runTraining(flags, corpus.name, corpus.classes, loaded.utterances, loaded.unscored);
});

addTrainingFlags(
  program
    .command('demo')
    .description('the embedded default: a synthetic emotional-speech corpus (dealt by --split-seed, default --seed), trained and evaluated end to end')
    // Apart by default: one seed and several are two layouts of --out, which refuse each other (clearOtherLayout).
    .option('--out <dir>', 'where checkpoints, results and the report go (default: runs/demo, with --seeds runs/demo-seeds)')
    .option('--speakers <n>', 'synthetic speakers (half female)', int('--speakers'), 8)
    .option('--utterances <n>', 'utterances per emotion and speaker', int('--utterances'), 6),
  { epochs: DEMO_EPOCHS, model: 'compact', folds: 'pairs', final: false },
).action(async (flags: TrainFlags & { speakers: number; utterances: number }, cmd: Command) => {
  checkTrainingFlags(flags, cmd);
  flags.out ??= flags.seeds > 1 ? 'runs/demo-seeds' : 'runs/demo';
  await prepareOutputDir(flags.out);
  // Dealt by the folds' seed: the seeds of `--seed 4 --seeds 2 --split-seed 1` then train on the corpus of a
  // `--seeds 3` run, which they add to (by --seed, they had another corpus, and were refused as another experiment).
  const corpus = generateSyntheticCorpus({ speakers: flags.speakers, utterancesPerEmotion: flags.utterances, seed: flags.splitSeed ?? flags.seed });
  if (!flags.json) console.error(`synthetic corpus: ${corpus.utterances.length} utterances, ${flags.speakers} speakers (this is generated speech, not a real corpus)`);
  await runTraining({ ...flags, strict: false, mergeExcited: true }, corpus.name, corpus.classes, corpus.utterances);
});

program
  .command('eval')
  .description('evaluate a trained model on a corpus, with the true gender given and with the gender inferred')
  .requiredOption('--model <file>', 'model.safetensors written by ser train')
  .addOption(new Option('--corpus <name>', 'corpus layout').choices(CORPORA).makeOptionMandatory())
  .requiredOption('--data <dir>', 'the corpus folder (or CSV manifest)')
  .option('--strict', 'refuse corrupt audio files', false)
  .option('--json', 'print one JSON summary object as the last line', false)
  .action(async (flags: { model: string; corpus: CorpusKind; data: string; strict: boolean; json: boolean }) => {
    await init();
    const { model } = decodeModel(await readCheckpointFile(flags.model), flags.model);
    const corpus = await readCorpus(flags.corpus, flags.data);
    const loaded = await loadCorpusAudio(corpus, { sampleRate: model.config.sampleRate, strict: flags.strict });
    for (const s of loaded.skipped) console.error(`skipped ${s.reason}`);
    checkLoaded(flags.data, corpus, loaded);
    const classes = model.config.classes;
    const known = loaded.utterances.filter((u) => classes.includes(u.emotion));
    const dropped = new Map<string, number>();
    for (const u of loaded.utterances) if (!classes.includes(u.emotion)) dropped.set(u.emotion, (dropped.get(u.emotion) ?? 0) + 1);
    if (dropped.size) {
      const labels = [...dropped].map(([label, n]) => `${JSON.stringify(label)} (${n})`).join(', ');
      console.error(`dropped ${loaded.utterances.length - known.length} utterance(s) whose emotion the model does not know: ${labels}; the model's classes are ${classes.join(', ')}; their audio still goes into their speakers' normalisation, unlabelled`);
    }
    if (!known.length) throw new Error(`${flags.data}: no utterance has one of the model's classes (${classes.join(', ')}): nothing to evaluate`);
    const examples = toExamples(known, classes, model.config.windowSamples);
    // The utterances not scored are still their speakers' audio, which per-speaker normalisation reads.
    const unscored = toUnscored([...loaded.utterances.filter((u) => !classes.includes(u.emotion)), ...loaded.unscored], model.config.windowSamples);
    const truth = examples.map((e) => e.label);
    const scored = async (useTrueGender: boolean): Promise<EvalScore> => {
      const p = await predictExamples(model, examples, { useTrueGender, unscored });
      return {
        report: classificationReport(truth, p.map((x) => x.predicted), classes),
        genderHeadAccuracy: accuracy(examples.map((e) => e.gender), p.map((x) => x.predictedGender)),
      };
    };
    // A model with a gender input is scored twice: given the true gender, and given the gender head's guess.
    const result: EvalResult = { corpus: corpus.name, classes, trueGender: model.config.useGender ? await scored(true) : undefined, inferredGender: await scored(false) };
    if (flags.json) console.log(JSON.stringify(evalJson(result)));
    else printEval(result);
  });

program
  .command('predict')
  .description('probabilities per emotion for each WAV file')
  .argument('<wav...>', 'WAV files')
  .option('--model <file>', `model.safetensors written by ser train (default: the shipped ${SHIPPED_MODEL_DESCRIPTION})`)
  .addOption(new Option('--gender <g>', "the speaker's gender; inferred by the gender head when omitted").choices(['f', 'm']))
  .option('--same-speaker', "the files are one speaker's: normalise by that speaker's statistics, from all of them (models with per-speaker normalisation)", false)
  .option('--json', 'print one JSON object per file', false)
  .action(async (files: string[], flags: { model?: string; gender?: 'f' | 'm'; sameSpeaker: boolean; json: boolean }) => {
    await init();
    const path = flags.model ?? fileURLToPath(shippedModelUrl());
    const { model } = decodeModel(await readCheckpointFile(path), path);
    let failed = 0;
    const fail = (file: string, e: unknown) => {
      failed++;
      // An AudioError's message already starts with the file's name.
      console.error(e instanceof AudioError ? e.message : `${file}: ${(e as Error).message}`);
    };
    // With --same-speaker every file is read first, and batch norm adapts to all of their windows (labels unused).
    const adapt = flags.sameSpeaker && model.config.speakerNormalization;
    // A model trained without per-speaker batches has no speaker statistics to re-estimate: the flag does nothing
    // there, which the user who gave it should hear (on stderr, so --json's lines stay one object per file).
    if (flags.sameSpeaker && !adapt) console.error(`--same-speaker: ${path} has no per-speaker normalisation; each file is classified on its own`);
    const loaded = new Map<string, Float32Array>();
    if (adapt) {
      for (const file of files) await loadAudio(file, model.config.sampleRate).then((a) => loaded.set(file, a), (e) => fail(file, e));
      const windows = [...loaded.values()].flatMap((a) => fixedWindows(a, model.config.windowSamples, model.config.windowSamples));
      const gender = flags.gender && genderOneHot(GENDERS.indexOf(flags.gender));
      if (windows.length) await adaptNormalization(model, { windows, genders: gender ? windows.map(() => gender) : undefined });
    }
    // One answer per file named, in order, a file named twice twice (as without --same-speaker); the files that
    // could not be read were reported above.
    for (const file of adapt ? files.filter((f) => loaded.has(f)) : files) {
      try {
        const samples = loaded.get(file) ?? (await loadAudio(file, model.config.sampleRate));
        const r = await classify(model, samples, model.config.sampleRate, { gender: flags.gender });
        console.log(flags.json ? JSON.stringify({ file, ...r }) : predictionText(file, r));
      } catch (e) {
        fail(file, e);
      }
    }
    if (failed) process.exitCode = 1;
  });

addExportCommand(program);
addEnsembleCommand(program);

program
  .command('web')
  .description('serve the demo page on loopback')
  .option('--port <n>', 'port (0: any free one)', port('--port'), 8080)
  .action(async (flags: { port: number }) => {
    const { serveWeb } = await import('./web.js');
    await serveWeb(flags.port);
  });

program.parseAsync().catch((e: unknown) => {
  console.error(`ser: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
