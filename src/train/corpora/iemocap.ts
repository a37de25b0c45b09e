// IEMOCAP: categorical labels come from the EmoEvaluation text files ("[start - end]\tutterance\tcode\t[v, a, d]"
// lines); the audio is the utterance's own WAV, looked up by name anywhere below the folder. The speaker is
// the session plus the gender letter after the utterance name's last underscore (Ses01F_impro01_M003 ->
// Ses01M, male): each session has one female and one male actor. The session is the split group (folds.ts):
// its two actors play the same dialogues and are heard on each other's microphones, so a fold that tested one
// and trained on the other would not be speaker-independent; the usual protocol leaves one session out.
// Utterances whose label is outside the classes are kept apart, unscored (types.ts, Corpus.unscored).
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { finishCorpus, hasWavExtension, walkFiles } from './files.js';
import { orderedClasses, type Corpus, type CorpusOptions, type Utterance } from './types.js';

const CODES: Record<string, string> = {
  ang: 'angry', hap: 'happy', exc: 'excited', sad: 'sad', neu: 'neutral',
  fru: 'frustrated', sur: 'surprise', fea: 'fear', dis: 'disgust',
  // 'oth' (other) and 'xxx' (no majority among annotators) are not emotions: never a class, their utterances are
  // kept unscored under the raw code (readIemocap), like every label outside the classes.
};
const FOUR_CLASSES = ['angry', 'happy', 'sad', 'neutral'];

const LABEL_LINE = /^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(\S+)\s+(\w+)\s+\[/;
const UTTERANCE = /^(Ses\d{2})[FM]_\S*_([FM])\d+$/i;

/** The emotion an IEMOCAP code maps to under the options, or undefined when the utterance is dropped. */
export function iemocapEmotion(code: string, options: CorpusOptions = {}): string | undefined {
  let emotion = CODES[code.toLowerCase()];
  if (emotion === 'excited' && (options.mergeExcited ?? true)) emotion = 'happy';
  if (emotion && (options.fourClass ?? true) && !FOUR_CLASSES.includes(emotion)) return undefined;
  return emotion;
}

export function iemocapClasses(options: CorpusOptions = {}): string[] {
  return orderedClasses(Object.keys(CODES).map((c) => iemocapEmotion(c, options)).filter((e) => e !== undefined));
}

/**
 * The EmoEvaluation/*.txt files of the release layout; only when there are none (a flattened copy) every
 * .txt file, since the release also holds tens of thousands of large MOCAP .txt files not worth reading.
 */
function labelFiles(files: string[]): string[] {
  const texts = files.filter((f) => /\.txt$/i.test(f)).sort();
  const evaluations = texts.filter((f) => basename(dirname(f)).toLowerCase() === 'emoevaluation');
  return evaluations.length > 0 ? evaluations : texts;
}

export async function readIemocap(dir: string, options: CorpusOptions = {}): Promise<Corpus> {
  const files = await walkFiles(dir);
  const wavByUtterance = new Map<string, string>();
  for (const f of files) if (hasWavExtension(f)) wavByUtterance.set(basename(f).slice(0, -4), f);
  const labelled = new Map<string, string>(); // utterance -> raw code; the first label file seen wins
  for (const f of labelFiles(files)) {
    for (const line of (await readFile(f, 'utf8')).split(/\r?\n/)) {
      const m = LABEL_LINE.exec(line);
      if (m && UTTERANCE.test(m[1]) && !labelled.has(m[1])) labelled.set(m[1], m[2]);
    }
  }
  const utterances: Utterance[] = [];
  const unscored: Utterance[] = [];
  for (const [name, code] of labelled) {
    const emotion = iemocapEmotion(code, options);
    const file = wavByUtterance.get(name);
    if (!file) continue;
    const [, session, letter] = UTTERANCE.exec(name)!;
    const gender = letter.toLowerCase() as 'f' | 'm';
    const speaker = { speaker: `${session}${letter.toUpperCase()}`, gender, group: session };
    if (emotion) utterances.push({ file, emotion, ...speaker });
    else unscored.push({ file, emotion: iemocapEmotion(code, { ...options, fourClass: false }) ?? code.toLowerCase(), ...speaker });
  }
  if (utterances.length === 0 && labelled.size > 0) {
    throw new Error(`IEMOCAP: ${labelled.size} labelled utterances in EmoEvaluation files below ${dir}, but none with a kept emotion and a matching <utterance>.wav`);
  }
  return finishCorpus('iemocap', dir, iemocapClasses(options), utterances, 'Session*/dialog/EmoEvaluation/*.txt label files and Session*/sentences/wav/**/<utterance>.wav', unscored);
}
