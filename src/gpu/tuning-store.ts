// The tuner's choices kept between runs, one entry per adapter, so that a tuning pass is paid once per machine
// rather than at every process start or page load. Node keeps them in a file (src/cli/tuning-file.ts, for the CLI
// and the benchmark); a page keeps them in its origin's localStorage, which `init` sets up (`keepTuningInPage`).
// Both hold the same JSON: { [tuningKey]: { [problem]: variant name } }.

import { inNode, type AdapterDescription } from './device.js';
import { TUNING_VERSION, type Tuner } from './tuner.js';

export type TuningEntries = Record<string, Record<string, string>>;

/** An entry's key: the adapter, and the version of the candidate lists (a saved name may mean another kernel in
 * another version). */
export function tuningKey(adapter: AdapterDescription): string {
  return `v${TUNING_VERSION} ${adapter.vendor} / ${adapter.architecture} / ${adapter.device} / ${adapter.description}`;
}

/** The entries in `text` (a file's or a storage item's): anything unreadable counts as none, since a lost cache
 * costs a tuning pass and nothing else. */
export function parseTuningEntries(text: string | null): TuningEntries {
  try {
    const parsed: unknown = text === null ? null : JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as TuningEntries) : {};
  } catch {
    return {};
  }
}

/** The choices `entries` hold for `adapter` (none where its entry is not an object of names). */
export function savedChoices(entries: TuningEntries, adapter: AdapterDescription): Record<string, string> {
  const entry: unknown = entries[tuningKey(adapter)];
  if (!entry || typeof entry !== 'object') return {};
  return Object.fromEntries(Object.entries(entry).filter(([, name]) => typeof name === 'string'));
}

/** The localStorage item that holds a page's entries. */
export const PAGE_TUNING_ITEM = 'ser-webgpu tuning';

type PageStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** The page's localStorage, or null where there is none (Node; a sandboxed frame, where reading it throws). */
export function pageStorage(): PageStorage | null {
  if (inNode) return null;
  try {
    return (globalThis as { localStorage?: PageStorage }).localStorage ?? null;
  } catch {
    return null;
  }
}

/** Loads this adapter's choices from `storage` into the tuner, and saves the tuner's choices there after each
 * tuning pass. Returns how many choices were loaded. A storage that fails (full, or blocked) costs the next page
 * load a tuning pass: a warning, never an error in the work that tuned. */
export function keepTuningInPage(tuner: Tuner, adapter: AdapterDescription, storage: PageStorage): number {
  const read = () => parseTuningEntries(storage.getItem(PAGE_TUNING_ITEM));
  let loaded: TuningEntries = {};
  try {
    loaded = read();
  } catch {
    // none loaded: the page tunes
  }
  const saved = savedChoices(loaded, adapter);
  tuner.load(saved);
  tuner.onTuned = async () => {
    try {
      // A read that throws skips the save, which would keep this adapter's entry alone, losing the others'.
      storage.setItem(PAGE_TUNING_ITEM, JSON.stringify({ ...read(), [tuningKey(adapter)]: tuner.choices() }));
    } catch (e) {
      console.warn(`ser-webgpu: the kernel choices could not be kept in localStorage (${(e as Error).message}); the next page load tunes again`);
    }
  };
  return Object.keys(saved).length;
}
