// The source revision a build bundles (SER_SOURCE_REVISION, read by src/train/source-revision.ts): the git commit,
// with "+changes" when the code that trains and scores (src, shaders, the locked dependencies) differs from it.
// Null outside a git checkout (a package unpacked from npm): the runs it trains then record no revision.
import { execFileSync } from 'node:child_process';

export function sourceRevision(root = '.') {
  const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', '--short=7', 'HEAD');
    const changed = git('status', '--porcelain', '--', 'src', 'shaders', 'package-lock.json') !== '';
    return `${commit}${changed ? '+changes' : ''}`;
  } catch {
    return null;
  }
}

/** esbuild's `define` for it. */
export const sourceRevisionDefine = (root) => ({ SER_SOURCE_REVISION: JSON.stringify(sourceRevision(root)) });
