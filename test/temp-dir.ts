// A temporary folder for the tests of the enclosing describe block (or file): made before them, removed after.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** The folder's path, once the block's tests run. */
export function tempDirForTests(prefix: string): () => string {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error(`tempDirForTests(${prefix}): used outside the tests of its block`);
    return dir;
  };
}
