// IEMOCAP's label files as the release writes them, and a small release tree, for the tests that build IEMOCAP
// fixtures (test/corpora.test.ts, test/evaluate.test.ts, test/export-iemocap.test.ts).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeWav16 } from '../src/audio/index.js';

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

const tone = (hz: number) => Float32Array.from({ length: 8000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / 16000));

/** Five sessions in the release layout below root; each actor has an angry and a sad utterance (low tones) and a
 * frustrated and an 'xxx' one (3 kHz), which the 4 classes leave unscored. Loading sets every utterance to unit
 * RMS, so kept and unscored audio differ in spectrum: adaptation statistics tell whether the unscored were read. */
export async function writeIemocapTree(root: string): Promise<string> {
  for (let n = 1; n <= 5; n++) {
    const dialog = `Ses0${n}F_impro01`;
    const lines: [string, string][] = [];
    for (const actor of ['F', 'M']) {
      for (const [i, code, hz] of [[0, 'ang', 300], [1, 'sad', 200], [2, 'fru', 3000], [3, 'xxx', 3000]] as const) {
        const name = `${dialog}_${actor}00${i}`;
        lines.push([name, code]);
        const wav = join(root, `Session${n}`, 'sentences', 'wav', dialog, `${name}.wav`);
        await mkdir(join(wav, '..'), { recursive: true });
        await writeFile(wav, encodeWav16(tone(hz), 16000));
      }
    }
    await mkdir(join(root, `Session${n}`, 'dialog', 'EmoEvaluation'), { recursive: true });
    await writeFile(join(root, `Session${n}`, 'dialog', 'EmoEvaluation', `${dialog}.txt`), emoEvaluation(...lines));
  }
  return root;
}
