// The `ser` command as a user runs it, built from the current source for the tests that spawn it: bundled
// with scripts/build.mjs's CLI settings into a folder of its own under dist/ (two folders below the package
// root, like dist/node, so that the shipped model is found the same way), once per test file. A test never
// runs whatever an earlier build left in dist/node, and never skips for want of one.

import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll } from 'vitest';
// @ts-expect-error: a plain ES module script, without type declarations
import { sourceRevisionDefine } from '../scripts/source-revision.mjs';

const root = resolve(import.meta.dirname, '..');

export interface CliRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Cli {
  /** Runs `ser args…`; sent `signal` (default SIGKILL) when `killWhen` (polled every 20 ms) says so, and SIGKILL
   * after timeoutMs; `env` is added to this process's environment; `cwd` (default this process's) is where relative
   * paths and default folders land. */
  run(args: string[], options?: { killWhen?: () => boolean; signal?: NodeJS.Signals; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CliRun>;
  /** Removes the build. */
  remove(): Promise<void>;
}

export async function buildCli(): Promise<Cli> {
  const outdir = join(root, 'dist', `test-cli-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'node',
    packages: 'external',
    loader: { '.wgsl': 'text', '.py': 'text' },
    define: sourceRevisionDefine(root),
    logLevel: 'warning',
  });
  const cli = join(outdir, 'cli.js');
  return {
    run: (args, { killWhen, signal = 'SIGKILL', timeoutMs = 120_000, env, cwd } = {}) =>
      new Promise((done, fail) => {
        const started = Date.now();
        const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env && { ...process.env, ...env }, cwd });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        let sent = false;
        const poll = killWhen && setInterval(() => !sent && killWhen() && (sent = child.kill(signal)), 20);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('error', fail);
        child.on('close', (code, signal) => {
          if (poll) clearInterval(poll);
          clearTimeout(timer);
          done({ code, signal, stdout, stderr, ms: Date.now() - started });
        });
      }),
    remove: () => rm(outdir, { recursive: true, force: true }),
  };
}

/** The CLI for the tests of the enclosing describe block: built before them, removed after them. */
export function cliForTests(): Pick<Cli, 'run'> {
  let cli: Cli | undefined;
  beforeAll(async () => {
    cli = await buildCli();
  });
  afterAll(() => cli?.remove());
  return { run: (args, options) => cli!.run(args, options) };
}
