// Corpus readers behind one entry point: readCorpus(kind, dir) finds a corpus's files anywhere below dir and
// labels them from that corpus's own naming convention or metadata. Re-exports the shared types.
import { readCasia } from './casia.js';
import { readCremad } from './cremad.js';
import { readEmodb } from './emodb.js';
import { readIemocap } from './iemocap.js';
import { readManifest } from './manifest.js';
import { readRavdess } from './ravdess.js';
import type { Corpus, CorpusKind, CorpusOptions } from './types.js';

export * from './types.js';
export { checkLoaded, loadCorpusAudio, type LoadOptions, type Skipped } from './load.js';
export const CORPUS_KINDS: readonly CorpusKind[] = ['emodb', 'ravdess', 'cremad', 'iemocap', 'casia', 'csv'];

export async function readCorpus(kind: CorpusKind, dir: string, options: CorpusOptions = {}): Promise<Corpus> {
  switch (kind) {
    case 'emodb':
      return readEmodb(dir);
    case 'ravdess':
      return readRavdess(dir);
    case 'cremad':
      return readCremad(dir, options.demographicsCsv);
    case 'iemocap':
      return readIemocap(dir, options);
    case 'casia':
      return readCasia(dir);
    case 'csv':
      return readManifest(dir);
    default:
      throw new Error(`unknown corpus kind "${kind as string}" (expected one of ${CORPUS_KINDS.join(', ')})`);
  }
}
