// Which source trained a run: the revision scripts/build.mjs bundled (scripts/source-revision.mjs: a git commit,
// "+changes" when the training code differed from it). Each fold result records it, and the reports name it, so a
// run resumed or extended by seeds at another commit says that its folds came from more than one version.

declare const SER_SOURCE_REVISION: string | null | undefined;

/** Null where no revision was bundled: unbundled source (the tests' own processes) or a build outside git. */
export const SOURCE_REVISION: string | null = typeof SER_SOURCE_REVISION === 'string' ? SER_SOURCE_REVISION : null;

/** Fold results of older versions record none. */
export const UNRECORDED = 'unrecorded';

/** How many folds each revision trained, in the order they first appear (results.json's `sources`). */
export function sourceCounts(sources: (string | null | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of sources) counts[s ?? UNRECORDED] = (counts[s ?? UNRECORDED] ?? 0) + 1;
  return counts;
}

/** "2540ed7 (20 folds)", "unrecorded (17 folds), 70f9717 (3 folds)". */
export function describeSources(counts: Record<string, number>): string {
  return Object.entries(counts).map(([s, n]) => `${s} (${n} fold${n === 1 ? '' : 's'})`).join(', ');
}
