// What `ser` prints and writes: progress bars while training, the summary table, the JSON summary line,
// and the run report (Markdown with SVG confusion matrices and training curves) in the output folder.

import { SingleBar, Presets } from 'cli-progress';
import { join } from 'node:path';
import type { GenderDesign } from '../model/config.js';
import type { Classification } from '../model/recognizer.js';
import type { Condition, ExperimentResult, ProgressEvent } from '../train/experiment.js';
import type { EpochRecord } from '../train/trainer.js';
import { classificationReport, meanAndSd, pairedEffect, type ClassificationReport, type PairedEffect } from '../train/metrics.js';
import { argmax } from '../train/evaluate.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { confusionMatrixSvg, lineChartSvg, percent } from '../io/svg-charts.js';
import { markdownReport } from '../train/report.js';
import { describeSources, sourceCounts, UNRECORDED } from '../train/source-revision.js';

const CONDITION_NAMES: Record<GenderDesign, string> = { concat: 'gender: concat', film: 'gender: FiLM', aux: 'gender: aux task', none: 'no gender' };

const entries = (result: Pick<ExperimentResult, 'conditions'>) =>
  Object.entries(result.conditions).filter((e): e is [Condition, NonNullable<(typeof e)[1]>] => !!e[1]);

/** Each design's per-fold UA, by design. */
type FoldUas = Partial<Record<Condition, number[]>>;
const foldUas = (result: Pick<ExperimentResult, 'conditions'>): FoldUas => Object.fromEntries(entries(result).map(([d, c]) => [d, c.perFold.map((f) => f.ua)]));

/** The designs compared against 'none', each with its per-fold UA differences, over one or several runs. */
export function genderEffects(runs: FoldUas[]): Partial<Record<Condition, PairedEffect>> {
  const out: Partial<Record<Condition, PairedEffect>> = {};
  for (const design of Object.keys(runs[0]) as Condition[]) {
    if (design === 'none') continue;
    // Every seed runs on the same folds (those of --split-seed, or --seed), so fold i is one cluster of the bootstrap.
    const pairs = runs.flatMap((r, seed) => {
      const [a, b] = [r[design], r.none];
      return a && b ? a.map((ua, i) => ({ difference: ua - b[i], fold: i, seed })) : [];
    });
    if (pairs.length) out[design] = pairedEffect(pairs.map((p) => p.difference), pairs.map((p) => p.fold), pairs.map((p) => p.seed));
  }
  return out;
}

export function formatEffect(design: Condition, e: PairedEffect): string {
  const points = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
  const overSeeds = e.ciOverSeeds ? `, ${points(e.ciOverSeeds[0])} to ${points(e.ciOverSeeds[1])} resampling the ${e.seeds} seeds too` : '';
  return `${CONDITION_NAMES[design]} vs no gender: ${points(e.mean)} points UA (sd ${(100 * e.sd).toFixed(1)} over ${e.n} folds × seeds; 95% CI ${points(e.ci[0])} to ${points(e.ci[1])} resampling the ${e.clusters} fold${e.clusters === 1 ? '' : 's'}${overSeeds})`;
}

/** `ser predict`'s text for one file: the ranked probabilities, the gender guess, and a warning line when the
 * input had no usable signal. */
export function predictionText(file: string, r: Classification): string {
  const ranked = Object.entries(r.probabilities).sort((a, b) => b[1] - a[1]);
  const line = `${file}: ${r.emotion}  (${ranked.map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', ')})${r.genderGiven ? '' : `  gender guess: ${r.gender}`}`;
  return r.warning ? `${line}\n${file}: warning: ${r.warning}` : line;
}

/** One design's scores in results.json. */
export interface DesignScores {
  wa: number;
  ua: number;
  f1: Record<string, number>;
  confusion: number[][];
  genderHeadAccuracy: number | null;
  n: number;
  foldUa: number[];
}
/** A run's results.json (and its --json line). */
export type RunResults = { classes: string[]; model?: string; sources?: Record<string, number>; genderEffect: Partial<Record<Condition, PairedEffect>> } & Partial<Record<Condition, DesignScores>>;

/** How many of the run's folds each source revision trained: more than one where a run was resumed at another commit. */
const foldSources = (result: Pick<ExperimentResult, 'conditions'>) => sourceCounts(entries(result).flatMap(([, c]) => c.sources));

export function summaryJson(result: Pick<ExperimentResult, 'classes' | 'conditions' | 'modelPath'>): RunResults {
  const out = { classes: result.classes } as RunResults; // genderEffect last, as results.json has always had it
  // The final model's path, as the text output prints it (alone under --final-only, which scores nothing).
  if (result.modelPath) out.model = result.modelPath;
  for (const [name, c] of entries(result)) {
    out[name] = { wa: c.report.wa, ua: c.report.ua, f1: c.report.f1, confusion: c.report.confusion, genderHeadAccuracy: c.genderHeadAccuracy ?? null, n: c.report.n, foldUa: c.perFold.map((f) => f.ua) };
  }
  if (entries(result).length) out.sources = foldSources(result);
  out.genderEffect = genderEffects([foldUas(result)]);
  return out;
}

export function printSummary(result: Pick<ExperimentResult, 'classes' | 'conditions' | 'corpus'> & { modelPath?: string }, reportPath?: string): void {
  if (entries(result).length === 0) {
    // --final-only: no cross-validation, nothing to score.
    if (result.modelPath) console.log(`model: ${result.modelPath}`);
    return;
  }
  console.log(`\n${result.corpus}: speaker-independent results over all folds (${result.classes.join(', ')})`);
  console.log('condition'.padEnd(18) + 'WA'.padStart(8) + 'UA'.padStart(8) + 'gender head'.padStart(14));
  for (const [name, c] of entries(result)) {
    const head = c.genderHeadAccuracy === undefined ? '-' : percent(c.genderHeadAccuracy);
    console.log(CONDITION_NAMES[name].padEnd(18) + percent(c.report.wa).padStart(8) + percent(c.report.ua).padStart(8) + head.padStart(14));
  }
  for (const [design, e] of Object.entries(genderEffects([foldUas(result)]))) console.log(formatEffect(design as Condition, e));
  if (reportPath) console.log(`report: ${reportPath}`);
  if (result.modelPath) console.log(`model: ${result.modelPath}`);
}

/** A seed's fold results by design: each fold's true labels and emotion probabilities per test utterance. */
export type SeedFolds = Partial<Record<Condition, { truth: number[]; probabilities: number[][] }[]>>;

/** Each design's pooled UA when the seeds decide together, each test utterance's probabilities averaged over them
 * as a model of `ser ensemble` averages them: for the designs whose fold results every seed has, with their
 * probabilities (kept since e234bae) and the same utterances. */
export function ensembleUas(runs: { folds?: SeedFolds }[], designs: Condition[], classes: string[]): Partial<Record<Condition, number>> {
  const out: Partial<Record<Condition, number>> = {};
  for (const d of designs) {
    const seeds = runs.map((r) => r.folds?.[d]);
    const first = seeds[0];
    const usable = (f: SeedFolds[Condition]) =>
      f && f.length === first!.length && f.every((fold, i) => fold.truth.length === first![i].truth.length && fold.truth.every((t, j) => t === first![i].truth[j]) && fold.probabilities.every((row) => row.length === classes.length));
    if (!first || !seeds.every(usable)) continue;
    const truth = first.flatMap((fold) => fold.truth);
    const predicted = first.flatMap((fold, i) => fold.truth.map((_, j) => argmax(classes.map((_, c) => seeds.reduce((sum, s) => sum + s![i].probabilities[j][c], 0)))));
    out[d] = classificationReport(truth, predicted, classes).ua;
  }
  return out;
}

/** The same experiment repeated with several training seeds on the same folds, from each seed's results.json: UA
 * per seed and design, their mean and standard deviation over seeds, each design's paired effect against 'none'
 * over folds × seeds, and (from the fold results) each design's UA when the seeds decide together. The
 * experiment's seeds without results yet (`unfinished`) are named, not dropped in silence. */
export function seedsSummary(corpus: string, runs: { seed: number; results: RunResults; folds?: SeedFolds }[], unfinished: { seed: number; dir: string }[] = []): { text: string; markdown: string; json: unknown } {
  const designs = (Object.keys(CONDITION_NAMES) as Condition[]).filter((d) => runs[0].results[d]);
  const uaOf = (r: RunResults, d: Condition) => r[d]!.ua;
  const perDesign = Object.fromEntries(designs.map((d) => [d, meanAndSd(runs.map((r) => uaOf(r.results, d)))]));
  const effects = genderEffects(runs.map(({ results }) => Object.fromEntries(designs.map((d) => [d, results[d]!.foldUa]))));
  const header = ['seed', ...designs.map((d) => `UA ${CONDITION_NAMES[d]}`)];
  const table = [
    ...runs.map(({ seed, results }) => [String(seed), ...designs.map((d) => percent(uaOf(results, d)))]),
    ['mean ± sd', ...designs.map((d) => `${percent(perDesign[d].mean)} ± ${(100 * perDesign[d].sd).toFixed(1)}`)],
  ];
  const together = runs.length > 1 ? ensembleUas(runs, designs, runs[0].results.classes) : {};
  const ensembleLine = Object.keys(together).length
    ? [`the ${runs.length} seeds as one ensemble (each utterance's probabilities averaged, as \`ser ensemble\` makes one): ${Object.entries(together).map(([d, ua]) => `UA ${CONDITION_NAMES[d as Condition]} ${percent(ua)}`).join(', ')}`]
    : [];
  const notes = [
    ...Object.entries(effects).map(([d, e]) => formatEffect(d as Condition, e)),
    ...ensembleLine,
    ...(unfinished.length ? [`unfinished, not in the table (no results yet): ${unfinished.map((u) => `seed ${u.seed} (${u.dir})`).join(', ')}`] : []),
  ];
  const title = `${corpus}: ${runs.length} training seeds (${runs.map((r) => r.seed).join(', ')}) on the same speaker-independent folds`;
  const width = 22;
  const text = [title, header.map((h, i) => (i ? h.padStart(width) : h.padEnd(10))).join(''), ...table.map((r) => r.map((c, i) => (i ? c.padStart(width) : c.padEnd(10))).join('')), ...notes].join('\n');
  // The source revisions in the file only: seeds added at another commit show here, and the printed summary stays short.
  const sources = `trained with: ${runs.map(({ seed, results }) => `seed ${seed} ${results.sources ? describeSources(results.sources) : UNRECORDED}`).join('; ')}`;
  const markdown = [`# ${title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...table.map((r) => `| ${r.join(' | ')} |`), '', ...[...notes, sources].map((l) => `- ${l}`), ''].join('\n');
  const json = { corpus, seeds: runs.map((r) => r.seed), ua: perDesign, genderEffect: effects, ensembleUa: together, runs: runs.map(({ seed, results }) => ({ seed, ...results })), unfinished: unfinished.map((u) => u.seed) };
  return { text, markdown, json };
}

/** `ser eval`: one trained model on a corpus, given the true gender (models with a gender input) and given
 * none, where the gender head's guess stands in for it. */
export interface EvalScore {
  report: ClassificationReport;
  genderHeadAccuracy: number;
}
export interface EvalResult {
  corpus: string;
  classes: string[];
  trueGender?: EvalScore;
  inferredGender: EvalScore;
}

export function evalJson(result: EvalResult) {
  const score = (s?: EvalScore) => s && { wa: s.report.wa, ua: s.report.ua, f1: s.report.f1, confusion: s.report.confusion, n: s.report.n, genderHeadAccuracy: s.genderHeadAccuracy };
  return { corpus: result.corpus, classes: result.classes, trueGender: score(result.trueGender) ?? null, inferredGender: score(result.inferredGender) };
}

export function printEval(result: EvalResult): void {
  console.log(`\n${result.corpus}: ${result.inferredGender.report.n} utterances (${result.classes.join(', ')})`);
  console.log('gender input'.padEnd(18) + 'WA'.padStart(8) + 'UA'.padStart(8) + 'gender head'.padStart(14));
  const rows: [string, EvalScore | undefined][] = [['true gender', result.trueGender], ['inferred', result.inferredGender]];
  for (const [label, s] of rows) if (s) console.log(label.padEnd(18) + percent(s.report.wa).padStart(8) + percent(s.report.ua).padStart(8) + percent(s.genderHeadAccuracy).padStart(14));
}

export async function writeRunReport(dir: string, result: ExperimentResult): Promise<string> {
  const images: { caption: string; file: string }[] = [];
  const conditions = [];
  for (const [name, c] of entries(result)) {
    const label = CONDITION_NAMES[name];
    const confusionFile = `confusion-${name}.svg`;
    await writeFileAtomic(join(dir, confusionFile), confusionMatrixSvg(c.report, `${result.corpus}, ${label}`));
    const curveFile = `curves-${name}.svg`;
    // Runs without validation speakers have no validation loss (NaN).
    const curve = (h: EpochRecord[], value: (r: EpochRecord) => number) =>
      h.filter((r) => Number.isFinite(value(r))).map((r): [number, number] => [r.epoch, value(r)]);
    const series = c.histories
      .flatMap((h, i) => [
        { name: `fold ${i + 1} train loss`, points: curve(h, (r) => r.trainLoss) },
        { name: `fold ${i + 1} val loss`, points: curve(h, (r) => r.validationLoss) },
      ])
      .filter((s) => s.points.length);
    await writeFileAtomic(join(dir, curveFile), lineChartSvg(series, { title: `Training curves, ${label}`, xLabel: 'epoch', yLabel: 'loss' }));
    images.push({ caption: `Confusion matrix, ${label}`, file: confusionFile }, { caption: `Training curves, ${label}`, file: curveFile });
    conditions.push({ name: label, report: c.report, genderHeadAccuracy: c.genderHeadAccuracy });
  }
  const foldUa = (i: number) =>
    entries(result)
      .filter(([, c]) => c.perFold[i])
      .map(([name, c]) => `UA ${CONDITION_NAMES[name]} ${percent(c.perFold[i].ua)}`);
  const validation = (f: ExperimentResult['folds'][number]) => (f.validationSpeakers.length ? `validation ${f.validationSpeakers.join(', ')}` : 'no validation speaker');
  const folds = result.folds.map((f, i) => [`fold ${f.index + 1}: test ${f.testSpeakers.join(', ')}; ${validation(f)}`, ...foldUa(i)].join('; '));
  const notes = [...folds, `trained with: ${describeSources(foldSources(result))}`];
  const md = markdownReport({ title: `Speech emotion recognition: ${result.corpus}`, classes: result.classes, conditions, notes, images });
  const path = join(dir, 'report.md');
  await writeFileAtomic(path, md);
  await writeFileAtomic(join(dir, 'results.json'), JSON.stringify(summaryJson(result), null, 2));
  return path;
}

/** A progress bar per fold and condition: windows per second, loss, ETA. */
export class TrainingProgress {
  private bar: SingleBar | null = null;
  private label = '';
  private epochs = 0;
  private lastLoss = NaN;

  handle = (e: ProgressEvent): void => {
    if (e.kind === 'start') {
      this.stop();
      this.epochs = e.epochs;
      this.label = e.fold < 0 ? `final ${e.condition}` : `fold ${e.fold + 1}/${e.folds} ${e.condition}`;
      this.bar = new SingleBar(
        { format: `{label} |{bar}| epoch {epoch}/{epochs} {percentage}% | {speed} win/s | loss {loss} | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 200 },
        Presets.shades_classic,
      );
      this.bar.start(e.epochs * e.windows, e.resumedAt * e.windows, { label: this.label, epoch: e.resumedAt + 1, epochs: e.epochs, speed: '-', loss: '-' });
      process.once('SIGINT', this.interrupted).once('SIGTERM', this.interrupted);
      this.started = performance.now();
      this.startValue = e.resumedAt * e.windows;
      this.windows = e.windows;
    } else if (e.kind === 'batch' && this.bar) {
      const value = e.epoch * e.total + e.done;
      const speed = (value - this.startValue) / ((performance.now() - this.started) / 1000);
      this.bar.update(value, { epoch: e.epoch + 1, speed: speed.toFixed(0), loss: Number.isNaN(this.lastLoss) ? '-' : this.lastLoss.toFixed(3) });
    } else if (e.kind === 'epoch' && this.bar) {
      this.lastLoss = e.record.trainLoss;
      this.bar.update(e.record.epoch * this.windows, { loss: e.record.trainLoss.toFixed(3) });
    } else if (e.kind === 'done') {
      this.stop();
      console.error(`${e.reused ? 'reused' : 'finished'} fold ${e.fold + 1} ${e.condition}: WA ${percent(e.report.wa)}, UA ${percent(e.report.ua)}`);
    }
  };

  private started = 0;
  private startValue = 0;
  private windows = 0;

  /** The bar hides the cursor and turns line wrapping off in a terminal: Ctrl-C (or a kill) left the shell so.
   * It is stopped first, then the signal is raised again with no listener left, so that the process ends as it
   * would have (status 130 for Ctrl-C), its checkpoints as they were. */
  private interrupted = (signal: NodeJS.Signals): void => {
    this.stop();
    process.kill(process.pid, signal);
  };

  /** Also after a failure, before the error is printed (on the bar's line, the terminal left as above). */
  stop(): void {
    process.removeListener('SIGINT', this.interrupted).removeListener('SIGTERM', this.interrupted);
    if (!this.bar) return;
    this.bar.stop();
    this.bar = null;
  }
}
