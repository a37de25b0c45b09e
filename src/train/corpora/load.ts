// Loading a corpus's audio without losing hours of work to one bad file: unreadable, corrupt, truncated,
// empty, oversized or non-WAV files, and sample rates out of range, are reported and skipped (or, in strict
// mode, the first one stops the run). loadAudio reads, decodes and resamples inside this loop's per-file try,
// and every failure of those steps is that file's AudioError.
import { AudioError, loadAudio } from '../../audio/index.js';
import type { Corpus, LoadedUtterance } from './types.js';

export interface Skipped {
  file: string;
  reason: string;
}

export interface LoadOptions {
  sampleRate: number;
  strict?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** The corpus's utterances and its unscored ones (empty when it has none), each loaded. */
export async function loadCorpusAudio(
  corpus: Corpus,
  opts: LoadOptions,
): Promise<{ utterances: LoadedUtterance[]; unscored: LoadedUtterance[]; skipped: Skipped[] }> {
  const utterances: LoadedUtterance[] = [];
  const unscored: LoadedUtterance[] = [];
  const skipped: Skipped[] = [];
  const all = [...corpus.utterances.map((u) => ({ u, into: utterances })), ...(corpus.unscored ?? []).map((u) => ({ u, into: unscored }))];
  for (const [i, { u, into }] of all.entries()) {
    try {
      into.push({ ...u, samples: await loadAudio(u.file, opts.sampleRate) });
    } catch (e) {
      // Only audio problems are the data's fault; anything else is a bug and must surface.
      if (!(e instanceof AudioError) || opts.strict) throw e;
      skipped.push({ file: u.file, reason: e.message });
    }
    opts.onProgress?.(i + 1, all.length);
  }
  return { utterances, unscored, skipped };
}

/** Refuses a load that skipped every utterance of `corpus` (read from `data`), once the skipped files are printed:
 * what followed had blamed the labels ("the data holds none of its classes", "no utterance has one of the
 * model's classes") for files that could not be read. */
export function checkLoaded(data: string, corpus: Corpus, loaded: { utterances: LoadedUtterance[] }): void {
  if (corpus.utterances.length && !loaded.utterances.length) {
    throw new Error(`${data}: none of the corpus's ${corpus.utterances.length} utterances could be read (each is named above as skipped)`);
  }
}
