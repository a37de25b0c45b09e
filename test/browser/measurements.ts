// Timings the browser tests measure (real-time factors, adapters), merged into one JSON file under
// test-results/ for the test report, and echoed to the console.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results');
const FILE = join(RESULTS_DIR, 'browser-measurements.json');

export async function recordMeasurement(name: string, value: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(FILE), { recursive: true });
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(await readFile(FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    // first measurement of the run, or an unreadable leftover
  }
  all[name] = { ...value, at: new Date().toISOString() };
  await writeFile(FILE, JSON.stringify(all, null, 2) + '\n');
  console.log(`[measurement] ${name}: ${JSON.stringify(value)}`);
}
