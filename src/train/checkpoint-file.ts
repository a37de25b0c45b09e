// Node-only checkpoint files: crash-safe writes (temp file + fsync + rename) and loading with
// the path named in every error. The format itself lives in ./checkpoint.ts (browser-usable).

import { open, rename, unlink, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensor } from './checkpoint.js';

/** A sibling temp name, unique per process and call, so concurrent writers never share one. */
export function tempPathFor(path: string): string {
  const random = Math.random().toString(36).slice(2, 10);
  return `${path}.tmp-${process.pid}-${random}`;
}

/** Writes and fsyncs `bytes` to `tempPath`, so that its content is on disk before any rename. */
export async function writeDurably(tempPath: string, bytes: Uint8Array): Promise<void> {
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
 * Replaces `path` with `bytes` atomically: a reader (or a restart after a crash) sees either
 * the old file or the new one, never a half-written one. A crash can leave `${path}.tmp-*`
 * behind, which is safe to delete when no writer is running.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
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

export async function saveCheckpoint(path: string, tensors: Record<string, NamedTensor>, metadata: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function loadCheckpoint(path: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read checkpoint (${(error as Error).message})`, { cause: error });
  }
  return decodeSafetensors(bytes, path);
}
