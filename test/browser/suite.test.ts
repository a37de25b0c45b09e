// The kernel and API suite (test/suite allCases) in headless Chromium, against the browser bundle
// (dist/browser/index.js, built by `npm test` before vitest runs): the page runs every case once, and each
// case is one test here, failing with the page's message.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWeb } from '../../src/cli/web.js';
import { allCases } from '../suite/index.js';
import { CHROMIUM, hasChromium, launchChromium, tail, type Browser } from './chromium.js';
import { TEST_ROUTES } from './fixtures.js';
import { recordMeasurement } from './measurements.js';
import type { CaseResult } from './page.js';
import { titleNeeding } from '../skip.js';

let server: Awaited<ReturnType<typeof serveWeb>>;
let browser: Browser;
let results: CaseResult[] = [];
let pageError: string | null = null;

describe.skipIf(!hasChromium)(titleNeeding(hasChromium, 'kernel and API suite in headless Chromium (browser bundle)', `no Chromium at ${CHROMIUM}`), () => {
  beforeAll(async () => {
    server = await serveWeb(0, { routes: TEST_ROUTES });
    browser = await launchChromium();
    const page = await browser.newPage(`${server.url}test/browser/suite.html`);
    // SwiftShader is slow: the whole suite takes minutes (the 2-D grid-fold cases most of them).
    await page.waitForFunction('window.suite && window.suite.done', undefined, { timeout: 1_150_000, polling: 500 });
    const state = (await page.evaluate('window.suite')) as { results: CaseResult[]; error: string | null; adapter: unknown };
    results = state.results;
    pageError = state.error;
    const failed = results.filter((r) => !r.ok).length;
    const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 3).map((r) => `${(r.ms / 1000).toFixed(1)} s [${r.family}] ${r.name}`);
    await recordMeasurement('chromium-kernel-suite', { adapter: state.adapter, cases: results.length, failed, seconds: results.reduce((s, r) => s + r.ms, 0) / 1000, slowest });
  }, 1_200_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads the browser bundle and runs every case', () => {
    expect(pageError, tail(browser.log)).toBeNull();
    expect(results.map((r) => r.name)).toEqual(allCases.map((c) => c.name));
  });

  for (const c of allCases) {
    it(`[${c.family}] ${c.name}`, () => {
      const r = results.find((x) => x.name === c.name && x.family === c.family);
      expect(r, pageError ?? 'the page did not run this case').toBeDefined();
      expect(r!.error ?? null).toBeNull();
      expect(r!.ok).toBe(true);
    });
  }
});
