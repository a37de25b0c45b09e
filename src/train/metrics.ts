// Classification metrics for SER evaluation: confusion matrix, WA (accuracy), UA (mean recall),
// per-class precision/recall/F1, and pooling across cross-validation folds. Browser-usable.
//
// Edge cases, chosen so that every number is finite and reports stay comparable:
// - a class never predicted has precision 0 (and so F1 0);
// - a class absent from the truth has support 0, recall 0 and F1 0, and is left out of UA
//   (its recall is undefined, and counting it as 0 would punish folds for their speakers).

import { seededRandom } from '../engine/random.js';

export interface ClassificationReport {
  classes: string[];
  /** rows = true class, columns = predicted class */
  confusion: number[][];
  /** weighted accuracy: fraction of samples classified correctly */
  wa: number;
  /** unweighted accuracy: mean per-class recall over classes that occur in the truth */
  ua: number;
  f1: Record<string, number>;
  recall: Record<string, number>;
  precision: Record<string, number>;
  support: Record<string, number>;
  n: number;
}

function checkLabels(truth: number[], predicted: number[], numClasses?: number): void {
  if (truth.length !== predicted.length) {
    throw new Error(`metrics: ${truth.length} true labels but ${predicted.length} predictions`);
  }
  if (numClasses === undefined) return;
  for (const [what, labels] of [['true', truth], ['predicted', predicted]] as const) {
    const bad = labels.findIndex((label) => !Number.isInteger(label) || label < 0 || label >= numClasses);
    if (bad >= 0) throw new Error(`metrics: ${what} label ${labels[bad]} at index ${bad} is not a class index in [0, ${numClasses})`);
  }
}

export function accuracy(truth: number[], predicted: number[]): number {
  checkLabels(truth, predicted);
  if (truth.length === 0) throw new Error('metrics: accuracy of zero samples is undefined');
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) correct++;
  return correct / truth.length;
}

export function confusionMatrix(truth: number[], predicted: number[], numClasses: number): number[][] {
  checkLabels(truth, predicted, numClasses);
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < truth.length; i++) matrix[truth[i]][predicted[i]]++;
  return matrix;
}

/** Derives every metric from a confusion matrix (rows = truth), so pooled folds use the same code. */
export function reportFromConfusion(confusion: number[][], classes: string[]): ClassificationReport {
  const k = classes.length;
  if (confusion.length !== k || confusion.some((row) => row.length !== k)) {
    throw new Error(`metrics: confusion matrix must be ${k}x${k} for classes [${classes.join(', ')}]`);
  }
  if (new Set(classes).size !== k) throw new Error(`metrics: duplicate class names in [${classes.join(', ')}]`);
  const n = confusion.flat().reduce((sum, count) => sum + count, 0);
  if (n === 0) throw new Error('metrics: a report over zero samples is undefined');

  // Per class index, named only at the end with Object.fromEntries, which makes each name an own property: a
  // class called __proto__ (a CSV manifest can hold one) assigned into a plain object set its prototype instead,
  // and read back as Object.prototype it turned UA into a string.
  const support = classes.map((_, c) => confusion[c].reduce((sum, count) => sum + count, 0));
  const recall = classes.map((_, c) => (support[c] > 0 ? confusion[c][c] / support[c] : 0));
  const precision = classes.map((_, c) => {
    const predictedCount = confusion.reduce((sum, row) => sum + row[c], 0);
    return predictedCount > 0 ? confusion[c][c] / predictedCount : 0;
  });
  const f1 = classes.map((_, c) => (precision[c] + recall[c] > 0 ? (2 * precision[c] * recall[c]) / (precision[c] + recall[c]) : 0));
  const correct = classes.reduce((sum, _, c) => sum + confusion[c][c], 0);
  const present = classes.map((_, c) => c).filter((c) => support[c] > 0);
  const named = (values: number[]) => Object.fromEntries(classes.map((name, c) => [name, values[c]])) as Record<string, number>;

  return {
    classes: [...classes],
    confusion: confusion.map((row) => [...row]),
    wa: correct / n,
    ua: present.reduce((sum, c) => sum + recall[c], 0) / present.length,
    f1: named(f1),
    recall: named(recall),
    precision: named(precision),
    support: named(support),
    n,
  };
}

export function classificationReport(truth: number[], predicted: number[], classes: string[]): ClassificationReport {
  return reportFromConfusion(confusionMatrix(truth, predicted, classes.length), classes);
}

/**
 * Pools fold reports the way speaker-independent SER papers do: sum the confusion matrices
 * and recompute, so that WA/UA are over all test utterances rather than a mean of fold scores.
 */
export function mergeReports(reports: ClassificationReport[]): ClassificationReport {
  if (reports.length === 0) throw new Error('metrics: mergeReports needs at least one report');
  const classes = reports[0].classes;
  reports.forEach((report, i) => {
    if (report.classes.length !== classes.length || report.classes.some((name, c) => name !== classes[c])) {
      throw new Error(`metrics: report ${i} has classes [${report.classes.join(', ')}], expected [${classes.join(', ')}]`);
    }
  });
  const summed = classes.map((_, row) => classes.map((_, col) => reports.reduce((sum, r) => sum + r.confusion[row][col], 0)));
  return reportFromConfusion(summed, classes);
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanAndSd(values: number[]): { mean: number; sd: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

export interface PairedEffect {
  /** Number of paired differences (folds × seeds). */
  n: number;
  /** Number of independent units the interval resamples: the folds (each with all its seeds). */
  clusters: number;
  mean: number;
  sd: number;
  /** 95 % percentile-bootstrap confidence interval of the mean, resampling the folds. */
  ci: [number, number];
  /** Number of training seeds (1 where none were named). */
  seeds: number;
  /** With more than one seed: the 95 % interval that resamples the seeds as well as the folds (see pairedEffect). */
  ciOverSeeds: [number, number] | null;
}

/**
 * The effect of a change measured as paired differences (e.g. UA with a design minus UA without, per fold and
 * seed): their mean, standard deviation, and a 95 % percentile-bootstrap interval of the mean (seeded, so a
 * report repeats). An interval that contains 0 is no evidence of an effect.
 *
 * `clusters[i]` names the fold of differences[i]: the bootstrap resamples folds, each with all its seeds, since
 * the seeds of one fold share its test speakers and are not independent pairs (treating folds × seeds as
 * independent gives too narrow an interval). Without it every difference is its own cluster.
 *
 * That interval holds the seeds fixed. `trainingSeeds[i]` names the seed of differences[i]; with more than one,
 * `ciOverSeeds` resamples the seeds too, independently of the folds, so that it also covers how the effect moves
 * with the seeds' draws (initial weights, batch order, augmentation, dropout): two draws of one EMO-DB experiment
 * differed by 1.6-1.9 points with fold intervals clear of 0, and by an interval holding 0 over seeds too.
 */
export function pairedEffect(differences: number[], clusters?: number[], trainingSeeds?: number[], resamples = 10000, seed = 1): PairedEffect {
  const n = differences.length;
  if (n === 0) throw new Error('metrics: a paired effect needs at least one difference');
  if (clusters && clusters.length !== n) throw new Error(`metrics: ${clusters.length} cluster labels for ${n} differences`);
  if (trainingSeeds && trainingSeeds.length !== n) throw new Error(`metrics: ${trainingSeeds.length} seed labels for ${n} differences`);
  const { mean, sd } = meanAndSd(differences);
  const [foldOf, g] = indexer(differences.map((_, i) => (clusters ? clusters[i] : i)));
  const [seedOf, seeds] = indexer(differences.map((_, i) => trainingSeeds?.[i] ?? 0));
  // Sum and count of the differences in each (seed, fold) cell.
  const cellSum = new Float64Array(seeds * g);
  const cellCount = new Float64Array(seeds * g);
  differences.forEach((d, i) => {
    cellSum[seedOf[i] * g + foldOf[i]] += d;
    cellCount[seedOf[i] * g + foldOf[i]] += 1;
  });
  const random = seededRandom(seed);
  const draw = (count: number) => Array.from({ length: count }, () => Math.floor(random() * count));
  const everySeed = Array.from({ length: seeds }, (_, s) => s);
  const interval = (resampleSeeds: boolean): [number, number] => {
    const means = new Float64Array(resamples);
    for (let r = 0; r < resamples; r++) {
      const folds = draw(g);
      const picked = resampleSeeds ? draw(seeds) : everySeed;
      let [total, count] = [0, 0];
      for (const s of picked) {
        for (const f of folds) {
          total += cellSum[s * g + f];
          count += cellCount[s * g + f];
        }
      }
      means[r] = total / count;
    }
    means.sort();
    const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))];
    return [at(0.025), at(0.975)];
  };
  // The fold interval first, so that it draws what it drew before the interval over seeds existed.
  const ci = interval(false);
  return { n, clusters: g, mean, sd, ci, seeds, ciOverSeeds: seeds > 1 ? interval(true) : null };
}

/** Each label's index among the distinct labels (in the order they first appear), and how many there are. (Not
 * Math.max(...indices) + 1: spreading a long array overflows the stack, past about 10^5 unclustered differences.) */
function indexer(labels: number[]): [number[], number] {
  const index = new Map<number, number>();
  const indices = labels.map((l) => index.get(l) ?? index.set(l, index.size).get(l)!);
  return [indices, index.size];
}
