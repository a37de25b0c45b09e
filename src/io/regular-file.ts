// Files named by users and requests (audio, checkpoints, what `ser web` serves): regular files only. A directory,
// a device such as /dev/zero, a FIFO or a socket is refused before it is opened (opening a FIFO waits for a
// writer) and again on the open handle (opened O_NONBLOCK, so one swapped in between does not block either), so
// nothing is read forever or waited on. Node's own readFile said EISDIR without a path for a folder, and read
// /dev/zero until memory ran out. node:fs is imported when called, by a name bundlers do not follow: the browser
// bundle holds the modules that call these (loadAudio, loadRecognizer) without reaching them in a page.

import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** Why a path is not read: its refusal as the error's message, the path left to the caller's wording. */
export class FileRefused extends Error {}

const kindOf = (s: Stats) =>
  s.isDirectory() ? 'a directory' : s.isCharacterDevice() ? 'a character device' : s.isBlockDevice() ? 'a block device'
    : s.isFIFO() ? 'a FIFO' : s.isSocket() ? 'a socket' : 'not a file';

function check(info: Stats, refuseSize?: (bytes: number) => string | null): void {
  if (!info.isFile()) throw new FileRefused(`not a regular file (${kindOf(info)})`);
  const tooLarge = refuseSize?.(info.size);
  if (tooLarge) throw new FileRefused(tooLarge);
}

/** An open regular file and its size when opened; the caller closes it. `refuseSize` may refuse the size (its
 * message, else null). Throws FileRefused, or the file system's error. */
export async function openRegularFile(path: string | URL, refuseSize?: (bytes: number) => string | null): Promise<{ handle: FileHandle; size: number }> {
  const fsModule = 'node:fs/promises';
  const { open, stat, constants } = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises');
  check(await stat(path), refuseSize);
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const info = await handle.stat();
    check(info, refuseSize);
    return { handle, size: info.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

// Node 20 ends the process on a read of 2 GiB or more in one call (a failed assertion in node_file.cc, not an
// exception): a checkpoint of 3 GiB given to `ser predict --model` aborted it.
const MAX_READ_BYTES = 2 ** 30;

/** The first `size` bytes of an open file, or fewer where it ends first. */
export async function readStart(handle: Pick<FileHandle, 'read'>, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let length = 0;
  while (length < size) {
    const { bytesRead } = await handle.read(bytes, length, Math.min(size - length, MAX_READ_BYTES), length);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return bytes.subarray(0, length);
}

/** A regular file read whole, up to the size it had when opened (a file that grows meanwhile is not chased). */
export async function readRegularFile(path: string | URL, refuseSize?: (bytes: number) => string | null): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(path, refuseSize);
  try {
    return await readStart(handle, size);
  } finally {
    await handle.close();
  }
}
