// What `ser` prints and writes: progress bars while training, the summary table, the JSON summary line,
// and the run report (Markdown with SVG confusion matrices and training curves) in the output folder.

import { SingleBar, Presets } from 'cli-progress';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Classification } from '../model/recognizer.js';
import type { ExperimentResult, ProgressEvent } from '../train/experiment.js';
import { confusionMatrixSvg, lineChartSvg, markdownReport, percent } from '../train/report.js';

const CONDITION_NAMES = { gender: 'with gender', noGender: 'without gender' } as const;

/** `ser predict`'s text for one file: the ranked probabilities, the gender guess, and a warning line when the
 * input had no usable signal. */
export function predictionText(file: string, r: Classification): string {
  const ranked = Object.entries(r.probabilities).sort((a, b) => b[1] - a[1]);
  const line = `${file}: ${r.emotion}  (${ranked.map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', ')})${r.genderGiven ? '' : `  gender guess: ${r.gender}`}`;
  return r.warning ? `${line}\n${file}: warning: ${r.warning}` : line;
}

export function summaryJson(result: Pick<ExperimentResult, 'classes' | 'conditions'>) {
  const out: Record<string, unknown> = { classes: result.classes };
  for (const [name, c] of Object.entries(result.conditions)) {
    if (!c) continue;
    out[name] = { wa: c.report.wa, ua: c.report.ua, f1: c.report.f1, confusion: c.report.confusion, genderHeadAccuracy: c.genderHeadAccuracy, n: c.report.n };
  }
  return out;
}

export function printSummary(result: Pick<ExperimentResult, 'classes' | 'conditions' | 'corpus'> & { modelPath?: string }, reportPath?: string): void {
  console.log(`\n${result.corpus}: speaker-independent results over all folds (${result.classes.join(', ')})`);
  console.log('condition'.padEnd(18) + 'WA'.padStart(8) + 'UA'.padStart(8) + 'gender head'.padStart(14));
  for (const [name, c] of Object.entries(result.conditions)) {
    if (!c) continue;
    const label = CONDITION_NAMES[name as keyof typeof CONDITION_NAMES];
    console.log(label.padEnd(18) + percent(c.report.wa).padStart(8) + percent(c.report.ua).padStart(8) + percent(c.genderHeadAccuracy).padStart(14));
  }
  if (reportPath) console.log(`report: ${reportPath}`);
  if (result.modelPath) console.log(`model: ${result.modelPath}`);
}

/** The same experiment repeated with several training seeds on the same folds: UA per seed and condition,
 * the gender input's effect (UA with minus UA without) per seed, and their mean and standard deviation. */
export function seedsSummary(corpus: string, runs: { seed: number; result: ExperimentResult }[]): { text: string; markdown: string; json: unknown } {
  const ua = (r: ExperimentResult, c: 'gender' | 'noGender') => r.conditions[c]?.report.ua;
  const rows = runs.map(({ seed, result }) => {
    const [withGender, without] = [ua(result, 'gender'), ua(result, 'noGender')];
    return { seed, withGender, without, effect: withGender !== undefined && without !== undefined ? withGender - without : undefined };
  });
  const stats = (values: (number | undefined)[]) => {
    const v = values.filter((x): x is number => x !== undefined);
    if (v.length === 0) return undefined;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
    return { mean, sd };
  };
  const summary = { withGender: stats(rows.map((r) => r.withGender)), without: stats(rows.map((r) => r.without)), effect: stats(rows.map((r) => r.effect)) };
  const pct = (x?: number) => (x === undefined ? '-' : percent(x));
  const points = (x?: number) => (x === undefined ? '-' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`);
  const spread = (s?: { mean: number; sd: number }, f = pct) => (s ? `${f(s.mean)} ± ${(100 * s.sd).toFixed(1)}` : '-');
  const header = ['seed', 'UA with gender', 'UA without', 'effect (points)'];
  const table = [
    ...rows.map((r) => [String(r.seed), pct(r.withGender), pct(r.without), points(r.effect)]),
    ['mean ± sd', spread(summary.withGender), spread(summary.without), spread(summary.effect, points)],
  ];
  const title = `${corpus}: ${runs.length} training seeds on the same speaker-independent folds`;
  const text = [title, header.map((h, i) => (i ? h.padStart(18) : h.padEnd(10))).join(''), ...table.map((r) => r.map((c, i) => (i ? c.padStart(18) : c.padEnd(10))).join(''))].join('\n');
  const markdown = [`# ${title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...table.map((r) => `| ${r.join(' | ')} |`), ''].join('\n');
  return { text, markdown, json: { corpus, seeds: rows, ...summary, runs: runs.map(({ seed, result }) => ({ seed, ...summaryJson(result) })) } };
}

export async function writeRunReport(dir: string, result: ExperimentResult): Promise<string> {
  const images: { caption: string; file: string }[] = [];
  const conditions = [];
  for (const [name, c] of Object.entries(result.conditions)) {
    if (!c) continue;
    const label = CONDITION_NAMES[name as keyof typeof CONDITION_NAMES];
    const confusionFile = `confusion-${name}.svg`;
    await writeFile(join(dir, confusionFile), confusionMatrixSvg(c.report, `${result.corpus}, ${label}`));
    const curveFile = `curves-${name}.svg`;
    const series = c.histories.flatMap((h, i) => [
      { name: `fold ${i + 1} train loss`, points: h.map((r): [number, number] => [r.epoch, r.trainLoss]) },
      { name: `fold ${i + 1} val loss`, points: h.map((r): [number, number] => [r.epoch, r.validationLoss]) },
    ]);
    await writeFile(join(dir, curveFile), lineChartSvg(series, { title: `Training curves, ${label}`, xLabel: 'epoch', yLabel: 'loss' }));
    images.push({ caption: `Confusion matrix, ${label}`, file: confusionFile }, { caption: `Training curves, ${label}`, file: curveFile });
    conditions.push({ name: label, report: c.report, genderHeadAccuracy: c.genderHeadAccuracy });
  }
  const foldUa = (i: number) =>
    Object.entries(result.conditions)
      .filter(([, c]) => c?.perFold[i])
      .map(([name, c]) => `UA ${CONDITION_NAMES[name as keyof typeof CONDITION_NAMES]} ${percent(c!.perFold[i].ua)}`);
  const folds = result.folds.map((f, i) => [`fold ${f.index + 1}: test ${f.testSpeakers.join(', ')}; validation ${f.validationSpeakers.join(', ')}`, ...foldUa(i)].join('; '));
  const md = markdownReport({ title: `Speech emotion recognition: ${result.corpus}`, classes: result.classes, conditions, notes: folds, images });
  const path = join(dir, 'report.md');
  await writeFile(path, md);
  await writeFile(join(dir, 'results.json'), JSON.stringify(summaryJson(result), null, 2));
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

  stop(): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = null;
  }
}
