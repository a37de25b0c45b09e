// Crash-safe file writes (temp file + fsync + rename), for checkpoints, run records, reports and the tuning file:
// a reader or a restart sees the old file or the new one, never half of one. Node-only.

import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A sibling temp name, unique per process and call, so concurrent writers never share one. */
export function tempPathFor(path: string): string {
  const random = Math.random().toString(36).slice(2, 10);
  return `${path}.tmp-${process.pid}-${random}`;
}

/** The pid in a name tempPathFor gave (the process that was writing it), or undefined for any other name. */
export function tempWriter(name: string): number | undefined {
  const match = /\.tmp-(\d+)-[0-9a-z]*$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Writes and fsyncs `bytes` (text as UTF-8) to `tempPath`, so that its content is on disk before any rename. */
export async function writeDurably(tempPath: string, bytes: Uint8Array | string): Promise<void> {
  const handle = await open(tempPath, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Persists the rename itself; platforms that cannot fsync a directory (Windows) skip it. */
async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Best effort: the new file is already durable; if the rename is lost to a power cut,
    // the old checkpoint, still whole, is what a restart finds.
  } finally {
    await handle?.close();
  }
}

/**
 * Replaces `path` with `bytes` (text as UTF-8) atomically: a reader (or a restart after a crash) sees either
 * the old file or the new one, never a half-written one. A crash can leave `${path}.tmp-*`
 * behind, which is safe to delete when no writer is running (folder-lock.ts does, in a run's folder).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tempPath = tempPathFor(path);
  try {
    await writeDurably(tempPath, bytes);
    await rename(tempPath, path);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw new Error(`writing ${path} failed: ${(error as Error).message}`, { cause: error });
  }
  await syncDirectory(dirname(path));
}
