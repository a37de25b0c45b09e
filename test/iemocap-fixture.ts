// IEMOCAP's label files as the release writes them, for the tests that build IEMOCAP fixture trees
// (test/corpora.test.ts, test/evaluate.test.ts).

/** An EmoEvaluation file's text: one "[start - end]\tutterance\tcode\t[v, a, d]" block per [utterance, code]. */
export const emoEvaluation = (...lines: [string, string][]) =>
  [
    '% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]',
    '',
    ...lines.flatMap(([name, code], i) => [
      `[${(i * 3.1).toFixed(4)} - ${(i * 3.1 + 2.5).toFixed(4)}]\t${name}\t${code}\t[2.5000, 2.5000, 2.5000]`,
      `C-E2:\tNeutral;\t()`,
      `A-E3:\tval 3; act 2; dom  2;\t()`,
      '',
    ]),
  ].join('\n');
