// Real headless Chromium for the browser tests: Debian's chromium driven by playwright-core, with WebGPU
// enabled and, where a test wants a microphone, Chromium's fake capture device playing a WAV file.
//
// Adapter: with these flags Chromium's WebGPU runs on SwiftShader (Vulkan on the CPU, isFallbackAdapter).
// Mesa's lavapipe, which Dawn finds in Node, is not offered to pages: Chromium only exposes non-SwiftShader
// adapters that can import external images, and adding --enable-features=Vulkan, --use-vulkan=native,
// --use-angle=vulkan, --ignore-gpu-blocklist, --use-webgpu-adapter=default or VK_ICD_FILENAMES pointing at
// lavapipe still gives SwiftShader (Vulkan,VulkanFromANGLE,DefaultANGLEVulkan gives no adapter at all).

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Audio: a page may start an AudioContext without a click (tests click anyway).
  '--autoplay-policy=no-user-gesture-required',
];

/** Flags for a microphone that plays `wav` in a loop, granted without a prompt. */
export function fakeMicrophoneArgs(wav: string): string[] {
  return ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`];
}

export interface Browser {
  context: BrowserContext;
  /** Console lines and uncaught page errors of every page, for failure messages. */
  log: string[];
  newPage(url: string): Promise<Page>;
  close(): Promise<void>;
}

/** A fresh profile each time (--user-data-dir via a persistent context), closed and removed by close(). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'ser-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    viewport: { width: 1280, height: 900 },
  });
  const log: string[] = [];
  return {
    context,
    log,
    async newPage(url) {
      const page = await context.newPage();
      page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
      await page.goto(url);
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The last lines of the browser log, to append to an assertion message. */
export function tail(log: string[], lines = 30): string {
  return log.slice(-lines).join('\n');
}
