// File-system helpers shared by the corpus readers: the recursive walk that finds a corpus's files wherever
// they sit below its folder, the common finish (sort for determinism, refuse an empty result), and the reader of
// the corpora whose file paths carry every label (EMO-DB, RAVDESS, CASIA).
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Corpus, Utterance } from './types.js';

/**
 * Hidden entries and macOS's zip folder: what Finder and macOS zips leave beside a corpus's files (`._201.wav`
 * AppleDouble resource forks, `__MACOSX/`, `.Trashes/`) carries corpus file names but no audio, and a reader
 * that labels by folder (CASIA) would take `._201.wav` for an utterance.
 */
const isHiddenEntry = (name: string) => name.startsWith('.') || name === '__MACOSX';

/** Every regular file below dir, hidden ones excepted (symlinks followed once; a directory reached twice is not
 * re-walked). */
export async function walkFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  async function visit(folder: string): Promise<void> {
    const real = await realpath(folder);
    if (seen.has(real)) return;
    seen.add(real);
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (isHiddenEntry(entry.name)) continue;
      const path = join(folder, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(path).catch(() => undefined);
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDir) await visit(path);
      else if (isFile) files.push(path);
    }
  }
  try {
    await visit(dir);
  } catch (e) {
    throw new Error(`cannot read corpus folder ${dir}: ${(e as Error).message}`);
  }
  return files;
}

export const hasWavExtension = (file: string) => /\.wav$/i.test(file);

const byFile = (a: Utterance, b: Utterance) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);

/** Sorts by file path and refuses a corpus in which nothing matched the convention. */
export function finishCorpus(name: string, dir: string, classes: string[], utterances: Utterance[], convention: string, unscored: Utterance[] = []): Corpus {
  if (utterances.length === 0) {
    throw new Error(`no ${name} utterances found below ${dir} (expected ${convention})`);
  }
  const corpus: Corpus = { name, classes, utterances: [...utterances].sort(byFile) };
  if (unscored.length) corpus.unscored = [...unscored].sort(byFile);
  return corpus;
}

/**
 * Refuses a recording found twice below dir: for corpora whose file names are unique (EMO-DB, RAVDESS, CREMA-D) a
 * name seen twice is a second copy of the corpus, as Kaggle's RAVDESS download holds its 1440 files both in
 * Actor_NN/ and in audio_speech_actors_01-24/Actor_NN/. Read twice, every utterance would count twice in training
 * and in the scores. `keyOf` says what identifies a recording where names alone do not (CASIA, whose 001.wav is
 * in every speaker's emotion folder); by default the file name, case-insensitively.
 */
export function refuseCopies(name: string, dir: string, utterances: Utterance[], keyOf = (file: string) => basename(file).toLowerCase()): void {
  const seen = new Map<string, string>();
  for (const { file } of [...utterances].sort(byFile)) {
    const key = keyOf(file);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new Error(`${name}: ${basename(file)} is found twice below ${dir}: ${first} and ${file}; a second copy of the corpus would count each of its utterances twice, so point at one copy`);
    }
    seen.set(key, file);
  }
}

/** A corpus whose every label is in its files' paths: each file below dir that `labelsOf` recognises; with
 * uniqueNames, a file name found twice is refused (refuseCopies), or, given as a function, a recording whose key it
 * gives is found twice. */
export async function readLabelledByPath(
  name: string,
  dir: string,
  classes: string[],
  labelsOf: (file: string) => Omit<Utterance, 'file'> | undefined,
  convention: string,
  uniqueNames: boolean | ((file: string) => string) = false,
): Promise<Corpus> {
  const utterances: Utterance[] = [];
  for (const file of await walkFiles(dir)) {
    const labels = labelsOf(file);
    if (labels) utterances.push({ file, ...labels });
  }
  if (uniqueNames) refuseCopies(name, dir, utterances, typeof uniqueNames === 'function' ? uniqueNames : undefined);
  return finishCorpus(name, dir, classes, utterances, convention);
}
