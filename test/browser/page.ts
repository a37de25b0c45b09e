// The kernel and API suite (test/suite allCases) in a browser page, against the browser bundle: the public
// API is imported at run time from /dist/browser/index.js (not bundled into this file), so the cases check
// exactly what a host page would load. Results go to window.suite for the test, and to the page itself.

import type { Ser, SuiteCase } from '../suite/harness.js';
import { allCases } from '../suite/index.js';

export interface CaseResult {
  family: string;
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

interface SuiteState {
  done: boolean;
  adapter: unknown;
  results: CaseResult[];
  error: string | null;
}

declare global {
  interface Window {
    suite: SuiteState;
  }
}

/** A variable, so esbuild leaves the import to the browser. */
const BUNDLE_URL = '/dist/browser/index.js';

async function runCase(ser: Ser, c: SuiteCase): Promise<CaseResult> {
  const started = performance.now();
  try {
    await c.run(ser);
    return { family: c.family, name: c.name, ok: true, ms: performance.now() - started };
  } catch (e) {
    return { family: c.family, name: c.name, ok: false, ms: performance.now() - started, error: e instanceof Error ? e.message : String(e) };
  }
}

async function main(): Promise<void> {
  const state: SuiteState = { done: false, adapter: null, results: [], error: null };
  window.suite = state;
  const list = document.getElementById('cases')!;
  try {
    const ser = (await import(/* @vite-ignore */ BUNDLE_URL)) as Ser;
    state.adapter = (await ser.init()).adapter ?? null;
    document.getElementById('adapter')!.textContent = JSON.stringify(state.adapter);
    // Only `?family=` cases when given: handy when debugging one kernel family in a real browser.
    const family = new URLSearchParams(location.search).get('family');
    for (const c of allCases.filter((c) => !family || c.family === family)) {
      const r = await runCase(ser, c);
      state.results.push(r);
      const item = document.createElement('li');
      item.textContent = `${r.ok ? 'PASS' : 'FAIL'} [${r.family}] ${r.name} (${r.ms.toFixed(0)} ms)${r.error ? `: ${r.error}` : ''}`;
      item.className = r.ok ? 'pass' : 'fail';
      list.append(item);
    }
  } catch (e) {
    state.error = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  }
  state.done = true;
}

void main();
