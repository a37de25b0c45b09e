// Reports: SVGs are well-formed, escaped, self-contained and show the data; the Markdown summary
// carries WA/UA as one-decimal percentages, per-class F1, confusion tables and image links.

import { describe, expect, it } from 'vitest';
import { seedsSummary, summaryJson } from '../src/cli/output.js';
import type { ExperimentResult } from '../src/train/experiment.js';
import { classificationReport, pairedEffect } from '../src/train/metrics.js';
import { barChartSvg, confusionMatrixSvg, lineChartSvg, niceTicks } from '../src/io/svg-charts.js';
import { markdownReport } from '../src/train/report.js';

/** Minimal XML well-formedness check: balanced tags, one root, quoted attributes, escaped text. */
function expectWellFormedXml(xml: string): void {
  const tokens = xml.match(/<[^>]*>|[^<]+/g) ?? [];
  const stack: string[] = [];
  let roots = 0;
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  for (const token of tokens) {
    if (!token.startsWith('<')) {
      expect(token.replace(entity, ''), `raw & in text ${token}`).not.toContain('&');
      if (stack.length === 0) expect(token.trim(), 'text outside the root').toBe('');
      continue;
    }
    const tag = /^<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>$/.exec(token);
    expect(tag, `malformed tag ${token}`).not.toBeNull();
    const [, closing, name, attributes, selfClosing] = tag!;
    expect(attributes.replace(entity, ''), `raw & in attributes of ${token}`).not.toContain('&');
    if (closing) {
      expect(stack.pop(), `unbalanced </${name}>`).toBe(name);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name);
    }
  }
  expect(stack, 'unclosed tags').toEqual([]);
  expect(roots).toBe(1);
}

const classes = ['anger', 'boredom', 'neutral'];
// anger: 3/4 right, boredom: 2/3, neutral: 1/2; WA = 6/9 = 66.7%, UA = (0.75 + 2/3 + 0.5) / 3 = 63.9%.
const report = classificationReport([0, 0, 0, 0, 1, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1, 2, 2, 0], classes);

describe('confusionMatrixSvg', () => {
  const svg = confusionMatrixSvg(report, 'Fold 1 <test> & co');

  it('is a well-formed, self-contained SVG document', () => {
    expectWellFormedXml(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toMatch(/href=|<script|<image/);
  });

  it('shows class names on both axes and every count', () => {
    for (const name of classes) expect(svg.match(new RegExp(`>${name}</text>`, 'g'))?.length).toBe(2);
    const cellCounts = [...svg.matchAll(/<text[^>]*text-anchor="middle" fill="[^"]+">(\d+)<\/text>/g)].map((m) => Number(m[1]));
    expect(cellCounts).toEqual(report.confusion.flat());
  });

  it('shades by row-normalised fraction: equal fractions, equal colours', () => {
    // Anger→anger is 3/4 of its row; the darkest cell. Boredom→boredom (2/3) is lighter.
    const fills = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="52" height="52" fill="(rgb\([^)]+\))"/g)].map((m) => m[1]);
    expect(fills.length).toBe(9);
    const lightness = (fill: string) => fill.match(/\d+/g)!.map(Number).reduce((a, b) => a + b, 0);
    expect(lightness(fills[0])).toBeLessThan(lightness(fills[4]));
    expect(fills[2]).toBe('rgb(255,255,255)'); // anger→neutral: zero
  });

  it('escapes the title', () => {
    expect(svg).toContain('Fold 1 &lt;test&gt; &amp; co');
    expect(svg).not.toContain('<test>');
  });

  it('escapes class names', () => {
    const odd = classificationReport([0, 1], [0, 1], ['a<b', 'c&d']);
    const oddSvg = confusionMatrixSvg(odd, 'odd');
    expectWellFormedXml(oddSvg);
    expect(oddSvg).toContain('a&lt;b');
    expect(oddSvg).toContain('c&amp;d');
  });
});

describe('lineChartSvg', () => {
  const svg = lineChartSvg(
    [
      { name: 'training loss', points: [[1, 1.9], [2, 1.2], [3, 0.8], [4, 0.55]] },
      { name: 'validation <loss> & more', points: [[1, 2.0], [2, 1.5], [3, 1.3], [4, NaN]] },
    ],
    { title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'cross-entropy' },
  );

  it('is well-formed, titled, labelled, with a legend entry and a line per series', () => {
    expectWellFormedXml(svg);
    for (const label of ['Loss per epoch', 'epoch', 'cross-entropy', 'training loss', 'validation &lt;loss&gt; &amp; more']) expect(svg).toContain(label);
    expect(svg.match(/<polyline /g)?.length).toBe(2);
  });

  it('skips non-finite points and labels round ticks', () => {
    expect(svg.match(/<circle /g)?.length).toBe(7);
    expect(svg).toContain('>0.5</text>');
    expect(svg).toContain('>2</text>');
  });

  it('copes with no data and a single point', () => {
    expectWellFormedXml(lineChartSvg([], { title: 't', xLabel: 'x', yLabel: 'y' }));
    expect(lineChartSvg([{ name: 's', points: [] }], { title: 't', xLabel: 'x', yLabel: 'y' })).toContain('no data');
    const single = lineChartSvg([{ name: 's', points: [[3, 0.7]] }], { title: 't', xLabel: 'x', yLabel: 'y' });
    expectWellFormedXml(single);
    expect(single).not.toContain('NaN');
  });
});

describe('barChartSvg', () => {
  const groups = {
    categories: ['matmul 512', 'conv1d <k=3>', 'softmax'],
    series: [
      { name: 'ours', values: [812.5, 95.25, 12] },
      { name: 'tfjs-webgpu', values: [640, null, 14.5] },
    ],
  };
  const svg = barChartSvg(groups, { title: 'GFLOP/s per kernel', yLabel: 'GFLOP/s', formatValue: (v) => v.toFixed(1) });

  it('is well-formed with a bar and value label per measurement and a legend', () => {
    expectWellFormedXml(svg);
    expect(svg.match(/<rect [^>]*><title>/g)?.length).toBe(5); // the null is not drawn
    for (const label of ['812.5', '95.3', '12.0', '640.0', '14.5', 'ours', 'tfjs-webgpu', 'matmul 512', 'conv1d &lt;k=3&gt;']) {
      expect(svg).toContain(`>${label}</text>`);
    }
  });

  it('draws negative values below zero and refuses ragged input', () => {
    expectWellFormedXml(barChartSvg({ categories: ['a', 'b'], series: [{ name: 'delta', values: [-3, 2] }] }, { title: 't', yLabel: 'y', xLabel: 'x' }));
    expect(() => barChartSvg({ categories: ['a', 'b'], series: [{ name: 's', values: [1] }] }, { title: 't', yLabel: 'y' })).toThrow(
      'series "s" has 1 values for 2 categories',
    );
  });
});

describe('niceTicks', () => {
  it('picks 1-2-5 steps', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 800)).toEqual([0, 200, 400, 600, 800]);
    expect(niceTicks(-3, 2)).toEqual([-3, -2, -1, 0, 1, 2]);
  });

  it('ends for values a few ulps apart (0.3 and 0.1 + 0.2), where a tick step cannot change a tick', () => {
    // The step (2e-17) is below half an ulp of 0.3: `t += step` left t at 0.3 and the loop ran out of memory.
    expect(niceTicks(0.3, 0.1 + 0.2)).toEqual([0.3]);
    expect(niceTicks(1, 1 + Number.EPSILON, 8)).toEqual([1]);
    expect(niceTicks(0, Infinity)).toEqual([]);
  });

  it('draws a series whose values are a few ulps apart as a flat one', () => {
    const nearlyFlat = lineChartSvg([{ name: 's', points: [[1, 0.3], [2, 0.1 + 0.2]] }], { title: 't', xLabel: 'x', yLabel: 'y' });
    const flat = lineChartSvg([{ name: 's', points: [[1, 0.3], [2, 0.3]] }], { title: 't', xLabel: 'x', yLabel: 'y' });
    expectWellFormedXml(nearlyFlat);
    expect(nearlyFlat).toBe(flat);
  });
});

describe('markdownReport', () => {
  const genderAware = classificationReport([0, 0, 0, 0, 1, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1, 2, 2, 2], classes);
  const md = markdownReport({
    title: 'EMO-DB, leave one pair out',
    classes,
    conditions: [
      { name: 'baseline', report },
      { name: 'gender-aware | shared', report: genderAware, genderHeadAccuracy: 0.9625 },
    ],
    notes: ['5 folds, pooled confusion matrices'],
    images: [{ caption: 'Confusion, baseline', file: 'figures/confusion baseline.svg' }],
  });

  it('reports WA/UA per condition as percentages with one decimal', () => {
    expect(md).toContain('| baseline | 9 | 66.7% | 63.9% | – |');
    // gender-aware: WA 8/9 = 88.9%, UA (1 + 2/3 + 1) / 3 = 88.9%; gender head 96.3%.
    expect(md).toContain('| gender-aware \\| shared | 9 | 88.9% | 88.9% | 96.3% |');
  });

  it('has a per-class F1 table', () => {
    // baseline anger: precision 3/4, recall 3/4 → 75.0%; gender-aware anger: 100.0%.
    expect(md).toContain('| anger | 75.0% | 100.0% |');
    expect(md).toMatch(/\| Class \| baseline \| gender-aware \\\| shared \|/);
  });

  it("shows '–' for a class without true utterances in a condition (a fold whose speaker lacks it), not 0.0%", () => {
    const noNeutral = classificationReport([0, 0, 1, 1], [0, 2, 1, 1], classes);
    const table = markdownReport({ title: 't', classes, conditions: [{ name: 'baseline', report }, { name: 'one fold', report: noNeutral }] });
    expect(table).toContain('| neutral | 50.0% | – |');
    expect(table).toContain('| anger | 75.0% | 66.7% |');
  });

  it('includes confusion matrices as tables, image links and notes', () => {
    expect(md).toContain('| true \\ predicted | anger | boredom | neutral |');
    expect(md).toContain('| anger | 3 | 1 | 0 |');
    expect(md).toContain('| neutral | 1 | 0 | 1 |');
    expect(md).toContain('![Confusion, baseline](figures/confusion%20baseline.svg)');
    expect(md).toContain('- 5 folds, pooled confusion matrices');
  });

  it('omits the gender column when no condition has a gender head', () => {
    const plain = markdownReport({ title: 't', classes, conditions: [{ name: 'only', report }] });
    expect(plain).toContain('| Condition | N | WA | UA |\n');
    expect(plain).not.toContain('Gender head');
  });
});

describe('seeds summary', () => {
  // A result whose pooled UA is `ua` (two classes, 10 samples each), one fold.
  const result = (ua: Partial<Record<'concat' | 'none', number>>, source: string | null = 'abc1234') => {
    const conditions = Object.fromEntries(
      Object.entries(ua).map(([name, u]) => {
        const right = Math.round(u * 10);
        const report = classificationReport([...Array(10).fill(0), ...Array(10).fill(1)], [...Array(right).fill(0), ...Array(10 - right).fill(1), ...Array(right).fill(1), ...Array(10 - right).fill(0)], ['a', 'b']);
        return [name, { report, perFold: [report], genderHeadAccuracy: 1, histories: [], sources: [source] }];
      }),
    );
    return { corpus: 'c', classes: ['a', 'b'], folds: [], conditions } as unknown as ExperimentResult;
  };

  it('gives UA per seed and design, mean ± sd over seeds, and the paired gender effect over folds × seeds', () => {
    const s = seedsSummary('c', [
      { seed: 1, results: summaryJson(result({ concat: 0.8, none: 0.6 })) },
      { seed: 2, results: summaryJson(result({ concat: 0.6, none: 0.6 })) },
    ]);
    const json = s.json as { ua: Record<string, { mean: number; sd: number }>; genderEffect: { concat: { n: number; mean: number; sd: number; ci: [number, number] } } };
    expect(json.ua.concat.mean).toBeCloseTo(0.7, 9);
    expect(json.ua.concat.sd).toBeCloseTo(Math.sqrt(0.02), 9);
    const effect = json.genderEffect.concat;
    expect(effect.n).toBe(2);
    expect(effect.mean).toBeCloseTo(0.1, 9);
    expect(effect.sd).toBeCloseTo(Math.sqrt(0.02), 9);
    // Both seeds ran the one fold: resampling folds, each with its two seeds (0.2 and 0), always gives 0.1.
    expect(effect.ci[0]).toBeCloseTo(0.1, 9);
    expect(effect.ci[1]).toBeCloseTo(0.1, 9);
    expect(s.markdown).toContain('| 1 | 80.0% | 60.0% |');
    expect(s.markdown).toContain('| mean ± sd | 70.0% ± 14.1 | 60.0% ± 0.0 |');
    // Resampling the seeds too: both seeds' +20 or both seeds' 0 as often as one of each.
    expect(s.markdown).toContain('gender: concat vs no gender: +10.0 points UA (sd 14.1 over 2 folds × seeds; 95% CI +10.0 to +10.0 resampling the 1 fold, +0.0 to +20.0 resampling the 2 seeds too)');
    expect(s.markdown).toContain('# c: 2 training seeds (1, 2) on the same speaker-independent folds');
  });

  it('names the seeds without results below the table (they had been left out in silence)', () => {
    const s = seedsSummary('c', [{ seed: 1, results: summaryJson(result({ concat: 0.8, none: 0.6 })) }], [{ seed: 3, dir: 'out/seed-3' }]);
    expect(s.markdown).toContain('- unfinished, not in the table (no results yet): seed 3 (out/seed-3)');
    expect(s.text).toContain('unfinished, not in the table (no results yet): seed 3 (out/seed-3)');
    expect((s.json as { seeds: number[]; unfinished: number[] }).unfinished).toEqual([3]);
  });

  it('names the source revisions that trained each seed, in the file only (a seed added at another commit shows)', () => {
    const first = summaryJson(result({ concat: 0.8, none: 0.6 }));
    expect(first.sources).toEqual({ abc1234: 2 });
    const older = summaryJson(result({ concat: 0.8, none: 0.6 }, null));
    expect(older.sources).toEqual({ unrecorded: 2 });
    delete older.sources; // a results.json written before revisions were recorded
    const s = seedsSummary('c', [
      { seed: 1, results: first },
      { seed: 2, results: summaryJson(result({ concat: 0.6, none: 0.6 }, 'def5678+changes')) },
      { seed: 3, results: older },
    ]);
    expect(s.markdown).toContain('- trained with: seed 1 abc1234 (2 folds); seed 2 def5678+changes (2 folds); seed 3 unrecorded\n');
    expect(s.text).not.toContain('trained with');
  });

  it('gives the UA of the seeds deciding together, each utterance\'s probabilities averaged, where every seed kept them', () => {
    const truth = [0, 1];
    // Each seed alone is wrong on one utterance; their mean is right on both.
    const seeds = [
      { seed: 1, results: summaryJson(result({ none: 0.5 })), folds: { none: [{ truth, probabilities: [[0.4, 0.6], [0.1, 0.9]] }] } },
      { seed: 2, results: summaryJson(result({ none: 0.5 })), folds: { none: [{ truth, probabilities: [[0.9, 0.1], [0.6, 0.4]] }] } },
    ];
    const s = seedsSummary('c', seeds);
    expect(s.markdown).toContain("- the 2 seeds as one ensemble (each utterance's probabilities averaged, as `ser ensemble` makes one): UA no gender 100.0%\n");
    expect((s.json as { ensembleUa: object }).ensembleUa).toEqual({ none: 1 });
    // A seed whose fold results predate the probabilities, or scored other utterances: no ensemble line.
    for (const folds of [{}, { none: [{ truth: [1, 0], probabilities: [[0.9, 0.1], [0.6, 0.4]] }] }]) {
      const partial = seedsSummary('c', [seeds[0], { ...seeds[1], folds }]);
      expect(partial.markdown).not.toContain('as one ensemble');
      expect((partial.json as { ensembleUa: object }).ensembleUa).toEqual({});
    }
  });

  it('leaves the effect out when there is no baseline', () => {
    const s = seedsSummary('c', [{ seed: 1, results: summaryJson(result({ concat: 0.8 })) }]);
    expect((s.json as { genderEffect: object }).genderEffect).toEqual({});
  });
});

describe('paired effect', () => {
  it('is the mean of the differences, with a bootstrap interval that holds it and excludes 0 for a clear effect', () => {
    const diffs = [0.05, 0.07, 0.04, 0.06, 0.08, 0.05, 0.06, 0.07];
    const e = pairedEffect(diffs);
    expect(e.mean).toBeCloseTo(0.06, 9);
    expect(e.ci[0]).toBeGreaterThan(0);
    expect(e.ci[0]).toBeLessThan(e.mean);
    expect(e.ci[1]).toBeGreaterThan(e.mean);
    expect(pairedEffect(diffs)).toEqual(e); // seeded: a report repeats
  });

  it('resamples folds, each with all its seeds: seeds that agree on each fold do not narrow the interval', () => {
    // Ten folds whose differences vary; three seeds repeat each fold's difference exactly.
    const folds = [0.09, -0.04, 0.06, 0.01, -0.02, 0.08, 0.03, -0.05, 0.07, 0.02];
    const oneSeed = pairedEffect(folds, folds.map((_, i) => i));
    const threeSeeds = [...folds, ...folds, ...folds];
    const clustered = pairedEffect(threeSeeds, threeSeeds.map((_, i) => i % 10));
    const naive = pairedEffect(threeSeeds);
    expect(clustered.n).toBe(30);
    expect(clustered.clusters).toBe(10);
    clustered.ci.forEach((end, i) => expect(end).toBeCloseTo(oneSeed.ci[i], 12));
    // Taken as 30 independent pairs the interval shrinks by about √3, which three copies of one fold do not earn.
    expect(naive.ci[1] - naive.ci[0]).toBeLessThan(0.7 * (clustered.ci[1] - clustered.ci[0]));
    expect(() => pairedEffect([0.1, 0.2], [0])).toThrow(/1 cluster labels for 2 differences/);
  });

  it('resamples the seeds as well as the folds in a second interval, where the seeds are named', () => {
    // Seed 1 moved every fold by +10 points, seed 2 none: the folds alone show no spread (two draws of one EMO-DB
    // experiment had fold intervals clear of 0); resampling the seeds too spans 0 to +10.
    const diffs = [0.1, 0.1, 0.1, 0.1, 0.1, 0, 0, 0, 0, 0];
    const folds = diffs.map((_, i) => i % 5);
    const seeds = diffs.map((_, i) => (i < 5 ? 1 : 2));
    const e = pairedEffect(diffs, folds, seeds);
    expect(e.seeds).toBe(2);
    e.ci.forEach((end) => expect(end).toBeCloseTo(0.05, 12));
    expect(e.ciOverSeeds![0]).toBeCloseTo(0, 12);
    expect(e.ciOverSeeds![1]).toBeCloseTo(0.1, 12);
    // Naming the seeds leaves the fold interval as it was; one seed has no interval over seeds.
    expect(pairedEffect(diffs, folds).ci).toEqual(e.ci);
    expect(pairedEffect(diffs, folds).ciOverSeeds).toBeNull();
    expect(pairedEffect(diffs.slice(0, 5), folds.slice(0, 5), seeds.slice(0, 5)).ciOverSeeds).toBeNull();
    expect(() => pairedEffect(diffs, folds, [1])).toThrow(/1 seed labels for 10 differences/);
  });

  it('takes more differences than a call can spread (labels are counted, not Math.max(...)-ed)', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => (i % 2 ? 0.01 : 0.03));
    const e = pairedEffect(many, undefined, undefined, 10);
    expect(e.clusters).toBe(300_000);
    expect(e.mean).toBeCloseTo(0.02, 9);
  });

  it('gives an interval containing 0 for differences centred on 0, and refuses none', () => {
    const e = pairedEffect([0.1, -0.1, 0.05, -0.05, 0.02, -0.02]);
    expect(e.ci[0]).toBeLessThan(0);
    expect(e.ci[1]).toBeGreaterThan(0);
    expect(() => pairedEffect([])).toThrow(/at least one/);
  });
});
