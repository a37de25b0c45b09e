// Builds the package with esbuild: the Node entry and CLI (dist/node), the self-contained browser bundle
// (dist/browser/index.js), the demo page and the browser-test page (dist/web), the benchmark and its
// child processes (dist/bench); then the type declarations (dist/types) with tsc. WGSL sources and the
// exported Python files are bundled as text.
// First it rewrites the lists of kernel families (scripts/families.mjs) from the files that define them.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { updateFamilyLists } from './families.mjs';
import { sourceRevisionDefine } from './source-revision.mjs';

updateFamilyLists();

// Every bundle knows the source it was built from, so that a run's results can name it (src/train/source-revision.ts).
const common = { bundle: true, format: 'esm', target: 'es2022', loader: { '.wgsl': 'text', '.py': 'text' }, define: sourceRevisionDefine('.'), sourcemap: true, logLevel: 'warning' };
const builds = [
  // Node: dependencies stay external (installed beside the package); the native dawn.node is loaded at run time.
  { ...common, platform: 'node', packages: 'external', entryPoints: { index: 'src/index.ts' }, outdir: 'dist/node' },
  { ...common, platform: 'node', packages: 'external', entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist/node', banner: { js: '#!/usr/bin/env node' } },
  // Browser: one self-contained ES module. 'webgpu' is only reached in Node (see src/gpu/device.ts).
  // The browser builds' maps name files and lines without carrying the sources: `ser web` serves them, and
  // serves no sources.
  { ...common, platform: 'browser', external: ['webgpu', 'node:*'], entryPoints: { index: 'src/index.ts' }, outdir: 'dist/browser', sourcesContent: false },
  // The benchmark bundles TensorFlow.js too, so that dist/ and .gpu/ (dawn.node) are all a GPU machine needs.
  // (tfjs-core's CommonJS build requires Node built-ins at run time, hence a `require` in the ES module.)
  {
    ...common,
    platform: 'node',
    external: ['webgpu'],
    entryPoints: { index: 'bench/index.ts' },
    outdir: 'dist/bench',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  },
  // The benchmark's children (bench/cold-start.ts, bench/host-split.ts): split, so that a process timing ours
  // never loads TensorFlow.js.
  {
    ...common,
    platform: 'node',
    external: ['webgpu'],
    entryPoints: { 'cold-start': 'bench/cold-start.ts', 'host-split': 'bench/host-split.ts' },
    outdir: 'dist/bench',
    splitting: true,
    chunkNames: 'child-chunks/[name]-[hash]',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  },
  { ...common, platform: 'browser', external: ['webgpu', 'node:*'], entryPoints: { app: 'web/app.ts', suite: 'test/browser/page.ts' }, outdir: 'dist/web', sourcesContent: false },
];
// The split build names its chunks by content hash, so each build that changes them leaves the old ones behind: on
// a GPU machine's 64 MiB carry they had taken dist/ from 22 to 48 MB. Its folder is rewritten whole.
rmSync('dist/bench/child-chunks', { recursive: true, force: true });
await Promise.all(builds.filter((b) => Object.values(b.entryPoints).every((e) => existsSync(e))).map((b) => esbuild.build(b)));
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
