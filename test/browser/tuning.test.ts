// The tuner's choices kept in a page's localStorage (src/gpu/tuning-store.ts), in headless Chromium against the
// browser bundle: a page that tunes a GEMM saves its choice; after a reload the engine starts with that choice
// and tunes nothing. SwiftShader is a CPU adapter, where tuning is off by default, so the page turns it on, as a
// page on a GPU has it by default.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWeb } from '../../src/cli/web.js';
import { PAGE_TUNING_ITEM } from '../../src/gpu/tuning-store.js';
import { CHROMIUM, hasChromium, launchChromium, tail, type Browser } from './chromium.js';
import { TEST_ROUTES } from './fixtures.js';
import { titleNeeding } from '../skip.js';

let server: Awaited<ReturnType<typeof serveWeb>>;
let browser: Browser;

interface PageRun {
  /** The choices the engine started with (loaded from localStorage). */
  loaded: Record<string, string>;
  /** What the tuner timed in this page load: [problem, chosen]. */
  tuned: [string, string][];
  /** The localStorage item's entries after the work. */
  stored: Record<string, Record<string, string>> | null;
}

// A string, not a function: vitest would rewrite a function's dynamic import for Node. 128³ is the smallest
// product the GEMM tunes (src/kernels/gemm.ts, TUNE_MIN_FLOPS).
const TUNE_A_GEMM = `(async () => {
  const ser = await import('/dist/browser/index.js');
  const engine = await ser.init({ tune: true });
  const tuner = engine.runtime.tuner;
  const loaded = tuner.choices();
  const { backend } = engine;
  const a = backend.upload(new Float32Array(128 * 128).map((_, i) => Math.sin(i)));
  const b = backend.upload(new Float32Array(128 * 128).map((_, i) => Math.cos(i)));
  const c = ser.kernels.gemm(backend, a, b, { M: 128, N: 128, K: 128 });
  await backend.download(c);
  await ser.tunePending();
  [a, b, c].forEach((s) => backend.release(s));
  const item = localStorage.getItem(${JSON.stringify(PAGE_TUNING_ITEM)});
  return { loaded, tuned: tuner.results.map((r) => [r.problem, r.chosen]), stored: item && JSON.parse(item) };
})()`;

describe.skipIf(!hasChromium)(titleNeeding(hasChromium, 'kernel tuning in headless Chromium (browser bundle)', `no Chromium at ${CHROMIUM}`), () => {
  beforeAll(async () => {
    server = await serveWeb(0, { routes: TEST_ROUTES });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("keeps the tuner's choices in localStorage: the next page load starts with them and tunes nothing", async () => {
    const page = await browser.newPage(`${server.url}test/browser/blank.html`);
    const first = (await page.evaluate(TUNE_A_GEMM)) as PageRun;
    expect(first.loaded, tail(browser.log)).toEqual({});
    expect(first.tuned.map(([problem]) => problem)).toEqual(['gemm 128x128x128']);
    const [, chosen] = first.tuned[0];
    const entries = Object.values(first.stored ?? {});
    expect(entries).toEqual([{ 'gemm 128x128x128': chosen }]);

    await page.reload();
    const second = (await page.evaluate(TUNE_A_GEMM)) as PageRun;
    expect(second.loaded, tail(browser.log)).toEqual({ 'gemm 128x128x128': chosen });
    expect(second.tuned).toEqual([]);
    expect(Object.values(second.stored ?? {})).toEqual([{ 'gemm 128x128x128': chosen }]);
  }, 300_000);
});
