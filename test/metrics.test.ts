// Metrics: a worked example checked by hand, the documented edge cases, and fold pooling.

import { describe, expect, it } from 'vitest';
import { accuracy, classificationReport, confusionMatrix, mergeReports, reportFromConfusion } from '../src/train/metrics.js';

describe('worked example (computed by hand)', () => {
  // a: 4 samples, 2 right; b: 3 samples, 2 right; c: 3 samples, 2 right.
  const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
  const predicted = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1];
  const report = classificationReport(truth, predicted, ['a', 'b', 'c']);

  it('confusion matrix has true classes as rows', () => {
    expect(confusionMatrix(truth, predicted, 3)).toEqual([
      [2, 1, 1],
      [1, 2, 0],
      [0, 1, 2],
    ]);
    expect(report.confusion).toEqual(confusionMatrix(truth, predicted, 3));
  });

  it('WA = 6/10, UA = (1/2 + 2/3 + 2/3) / 3', () => {
    expect(report.n).toBe(10);
    expect(report.wa).toBeCloseTo(0.6, 12);
    expect(accuracy(truth, predicted)).toBeCloseTo(0.6, 12);
    expect(report.ua).toBeCloseTo(11 / 18, 12);
  });

  it('per-class recall, precision (column sums 3, 4, 3), F1 and support', () => {
    expect(report.recall).toEqual({ a: 0.5, b: 2 / 3, c: 2 / 3 });
    expect(report.precision).toEqual({ a: 2 / 3, b: 0.5, c: 2 / 3 });
    expect(report.f1.a).toBeCloseTo(4 / 7, 12);
    expect(report.f1.b).toBeCloseTo(4 / 7, 12);
    expect(report.f1.c).toBeCloseTo(2 / 3, 12);
    expect(report.support).toEqual({ a: 4, b: 3, c: 3 });
  });
});

describe('edge cases', () => {
  it('a class in the truth but never predicted: precision 0, recall 0, F1 0, counted in UA', () => {
    const r = classificationReport([0, 0, 1, 1], [0, 0, 0, 0], ['x', 'y']);
    expect(r.precision.y).toBe(0);
    expect(r.recall.y).toBe(0);
    expect(r.f1.y).toBe(0);
    expect(r.precision.x).toBe(0.5);
    expect(r.ua).toBe(0.5); // (1 + 0) / 2
  });

  it('a class absent from the truth: support 0, F1 0, left out of UA even when predicted', () => {
    const r = classificationReport([0, 0, 1, 1], [0, 2, 1, 1], ['x', 'y', 'z']);
    expect(r.support.z).toBe(0);
    expect(r.f1.z).toBe(0);
    expect(r.precision.z).toBe(0);
    expect(r.recall.z).toBe(0);
    expect(r.ua).toBe(0.75); // (1/2 + 1) / 2, z excluded
    expect(r.wa).toBe(0.75);
  });

  it('a class neither present nor predicted changes nothing but its own zero entries', () => {
    const without = classificationReport([0, 1, 1], [0, 1, 0], ['x', 'y']);
    const withUnused = classificationReport([0, 1, 1], [0, 1, 0], ['x', 'y', 'unused']);
    expect(withUnused.ua).toBe(without.ua);
    expect(withUnused.wa).toBe(without.wa);
    expect(withUnused.f1).toEqual({ ...without.f1, unused: 0 });
    expect(withUnused.support.unused).toBe(0);
  });

  it('perfect and all-wrong predictions', () => {
    const perfect = classificationReport([0, 1, 2], [0, 1, 2], ['a', 'b', 'c']);
    expect([perfect.wa, perfect.ua, perfect.f1.b]).toEqual([1, 1, 1]);
    const wrong = classificationReport([0, 1], [1, 0], ['a', 'b']);
    expect([wrong.wa, wrong.ua, wrong.f1.a, wrong.precision.a]).toEqual([0, 0, 0, 0]);
  });

  it('refuses mismatched lengths, out-of-range labels, empty inputs and bad matrices', () => {
    expect(() => confusionMatrix([0, 1], [0], 2)).toThrow('2 true labels but 1 predictions');
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow('true label 3 at index 1 is not a class index in [0, 3)');
    expect(() => confusionMatrix([0], [1.5], 3)).toThrow('predicted label 1.5 at index 0');
    expect(() => accuracy([], [])).toThrow(/zero samples/);
    expect(() => classificationReport([], [], ['a'])).toThrow(/zero samples/);
    expect(() => reportFromConfusion([[1]], ['a', 'b'])).toThrow(/must be 2x2/);
    expect(() => reportFromConfusion([[1, 0], [0, 1]], ['a', 'a'])).toThrow(/duplicate class names/);
  });

  it('returns copies, so mutating a report does not alter the input', () => {
    const matrix = [[1, 0], [0, 1]];
    const r = reportFromConfusion(matrix, ['a', 'b']);
    r.confusion[0][0] = 99;
    expect(matrix[0][0]).toBe(1);
  });
});

describe('class names', () => {
  it('a class called __proto__ is a class like any other: its own entries, and a numeric UA', () => {
    const confusion = [
      [3, 1],
      [2, 4],
    ];
    const plain = reportFromConfusion(confusion, ['a', 'b']);
    const odd = reportFromConfusion(confusion, ['__proto__', 'b']);
    expect(odd.ua).toBe(plain.ua);
    for (const table of ['f1', 'recall', 'precision', 'support'] as const) {
      expect(Object.hasOwn(odd[table], '__proto__')).toBe(true);
      expect(odd[table]['__proto__']).toBe(plain[table].a);
    }
  });
});

describe('mergeReports', () => {
  const classes = ['a', 'b'];
  // Fold 1: 2 samples, all right. Fold 2: 8 samples, 4 right (class b always missed).
  const fold1 = classificationReport([0, 1], [0, 1], classes);
  const fold2 = classificationReport([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0], classes);

  it('pools by summing confusion matrices, not by averaging fold scores', () => {
    const merged = mergeReports([fold1, fold2]);
    expect(merged.confusion).toEqual([
      [5, 0],
      [4, 1],
    ]);
    expect(merged.n).toBe(10);
    expect(merged.wa).toBe(0.6); // not (1 + 0.5) / 2
    expect(merged.ua).toBe((1 + 0.2) / 2);
    expect(merged.support).toEqual({ a: 5, b: 5 });
    expect(merged).toEqual(classificationReport([0, 1, 0, 0, 0, 0, 1, 1, 1, 1], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0], classes));
  });

  it('a fold without some class still pools correctly', () => {
    const onlyA = classificationReport([0, 0], [0, 1], classes);
    expect(onlyA.ua).toBe(0.5); // b excluded in this fold
    const merged = mergeReports([onlyA, fold1]);
    expect(merged.recall).toEqual({ a: 2 / 3, b: 1 });
  });

  it('refuses empty input and mismatched class lists', () => {
    expect(() => mergeReports([])).toThrow(/at least one report/);
    const other = classificationReport([0], [0], ['b', 'a']);
    expect(() => mergeReports([fold1, other])).toThrow('report 1 has classes [b, a], expected [a, b]');
  });
});
