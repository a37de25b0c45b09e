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

export async function loadCorpusAudio(
  corpus: Corpus,
  opts: LoadOptions,
): Promise<{ utterances: LoadedUtterance[]; skipped: Skipped[] }> {
  const utterances: LoadedUtterance[] = [];
  const skipped: Skipped[] = [];
  const total = corpus.utterances.length;
  for (const [i, u] of corpus.utterances.entries()) {
    try {
      utterances.push({ ...u, samples: await loadAudio(u.file, opts.sampleRate) });
    } catch (e) {
      // Only audio problems are the data's fault; anything else is a bug and must surface.
      if (!(e instanceof AudioError) || opts.strict) throw e;
      skipped.push({ file: u.file, reason: e.message });
    }
    opts.onProgress?.(i + 1, total);
  }
  return { utterances, skipped };
}
