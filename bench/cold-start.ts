// The cold-start child: `node dist/bench/cold-start.js --engine ours|tfjs --preset default --batch 16
// [--tune|--no-tune]`, spawned by cases-cold-start.ts, one fresh process per measurement. It starts one engine
// on dawn.node, builds the model, its optimiser and a batch on the device, and records, submits and awaits one
// training step, then a second (the steady step, to tell compilation from work). Its last stdout line is one JSON
// object: wall-clock instants (ms since the epoch: performance.timeOrigin + performance.now(), the clock the
// parent read before spawning) { loaded, ready, stepped, steppedAgain }, and the tuning's account { tuning, tuned,
// cachedChoices, candidates, compileMs, trialMs }.
//   ours: ready = the engine's adapter and device, and the saved tuning choices loaded where tuning is on
//   ($SER_WEBGPU_CACHE/tuning.json); the first step's sync tunes the shapes it queued (runtime.sync), so
//   `stepped` includes tuning; the choices are saved after the instants, for the next process.
//   tfjs: ready = tf.ready() on the webgpu backend; its weights come from our model on the CPU backend, as in
//   the model cases (ModelBench.create), so both start from the same point.
// Bundled on its own (scripts/build.mjs, with code splitting), so that ours never loads TensorFlow.js.

import { saveTuning } from '../src/cli/tuning-file.js';
import { init } from '../src/index.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';
import { childArgs, startStepEngine, stepArg, type StepArgs } from './child.js';
import { installDawn, startTfjs, tfjsSync } from './gpu.js';
import { benchModelConfig, CLASSES, hostBatch, LR, OurSer } from './ser-ours.js';
import { TfjsSer, tfjsBatch } from './ser-tfjs.js';

export interface ColdStartArgs extends StepArgs {
  /** tfjs has no tuner: it ignores `tune`. */
  engine: 'ours' | 'tfjs';
}

export interface ColdStartInstants {
  /** This module evaluated: Node started and the bundle parsed. */
  loaded: number;
  /** Adapter and device ready (ours: tuning choices loaded too). */
  ready: number;
  /** The first training step finished (recorded, submitted, awaited; ours: tuned where tuning is on). */
  stepped: number;
  /** A second step finished. */
  steppedAgain: number;
  tuning: boolean;
  /** Problems the tuner timed during the first step (ours). */
  tuned: number;
  /** Tuning choices found in the cache file at start (ours). */
  cachedChoices: number;
  /** ours: what the first step's tuning spent (Tuner.spent): its candidates, their compiles and their trials. */
  candidates: number;
  compileMs: number;
  trialMs: number;
}

const now = () => performance.timeOrigin + performance.now();

function parseArgs(argv: string[]): ColdStartArgs {
  const a: ColdStartArgs = { engine: 'ours', preset: 'default', batch: 16, tune: null };
  childArgs('cold-start', argv, (flag, v) => {
    if (flag === '--engine' && (v === 'ours' || v === 'tfjs')) return (a.engine = v), 1;
    return stepArg(a, flag, v);
  });
  return a;
}

async function ours(a: ColdStartArgs, loaded: number): Promise<ColdStartInstants> {
  const { engine, cachedChoices } = await startStepEngine(a.tune);
  const runtime = engine.runtime!;
  const ready = now();
  const config = benchModelConfig(a.preset);
  const model = new OurSer(config, hostBatch(a.batch, config.windowSamples, 3));
  model.step();
  await runtime.sync();
  const stepped = now();
  const tuned = runtime.tuner.results.length;
  const { candidates, compileMs, trialMs } = runtime.tuner.spent;
  model.step();
  await runtime.sync();
  const steppedAgain = now();
  if (runtime.tuner.enabled) await saveTuning(engine);
  return { loaded, ready, stepped, steppedAgain, tuning: runtime.tuner.enabled, tuned, cachedChoices, candidates, compileMs, trialMs };
}

async function tfjs(a: ColdStartArgs, loaded: number): Promise<ColdStartInstants> {
  await installDawn();
  const tf = await startTfjs();
  const ready = now();
  const config = benchModelConfig(a.preset);
  const batch = hostBatch(a.batch, config.windowSamples, 3);
  await init({ backend: 'cpu' });
  const state = await new OurSer(config, batch).model.stateDict();
  const net = new TfjsSer(tf, config, state, LR, DEFAULT_TRAIN_OPTIONS.genderLossWeight);
  const tb = tfjsBatch(tf, batch.samples, batch.genders, batch.labels, batch.genderLabels, CLASSES.length);
  net.step(tb).dispose();
  await tfjsSync(tf);
  const stepped = now();
  net.step(tb).dispose();
  await tfjsSync(tf);
  const steppedAgain = now();
  return { loaded, ready, stepped, steppedAgain, tuning: false, tuned: 0, cachedChoices: 0, candidates: 0, compileMs: 0, trialMs: 0 };
}

async function main(): Promise<void> {
  const loaded = now();
  const a = parseArgs(process.argv.slice(2));
  console.log(JSON.stringify(await (a.engine === 'ours' ? ours(a, loaded) : tfjs(a, loaded))));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(2);
  },
);
