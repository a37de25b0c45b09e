// The layering the folder names promise, checked on the source: no runtime import cycle anywhere in what the
// package, the CLI, the page and the benchmark bundle (esbuild's own import graph, from which it has already
// dropped type-only imports), and the lower layers import nothing from the layers above them.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
// @ts-expect-error: a plain ES module script, without type declarations
import { familyLists } from '../scripts/families.mjs';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const ENTRIES = ['src/index.ts', 'src/cli/main.ts', 'web/app.ts', 'bench/index.ts', 'bench/cold-start.ts'];

/** Runtime imports between the project's own files. Dynamic imports run after loading, so they close no cycle. */
async function importGraph(): Promise<Map<string, string[]>> {
  const { metafile } = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ENTRIES,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    loader: { '.wgsl': 'text', '.py': 'text' },
    outdir: 'unused',
    logLevel: 'silent',
  });
  const own = (path: string) => !path.includes('node_modules') && /\.ts$/.test(path);
  const graph = new Map<string, string[]>();
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (!own(file)) continue;
    graph.set(file, input.imports.filter((i) => i.kind === 'import-statement' && own(i.path)).map((i) => i.path));
  }
  return graph;
}

/** The strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Every import (type-only ones too) of each .ts file below `folder`, as paths relative to the root. */
function importsBelow(folder: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts')) {
        for (const m of readFileSync(join(root, path), 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
          out.push({ file: path, target: relative(root, resolve(root, dirname(path), m[1])) });
        }
      }
    }
  };
  walk(folder);
  return out;
}

describe('architecture', () => {
  it('finds a planted cycle (the check can fail)', () => {
    const planted = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a', 'd']], ['e', []]]);
    expect(cycles(planted)).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('has no runtime import cycle', async () => {
    const graph = await importGraph();
    expect(graph.size).toBeGreaterThan(80); // the graph really holds the tree
    expect(cycles(graph)).toEqual([]);
  });

  it('lists every kernel family where the kernels, the references and the suite are gathered (scripts/families.mjs)', () => {
    const lists = familyLists() as { path: string; text: string }[];
    expect(lists.map((l) => l.path)).toEqual(['src/kernels/index.ts', 'src/kernels/cpu/reference.ts', 'test/suite/index.ts']);
    for (const { path, text } of lists) expect(readFileSync(join(root, path), 'utf8'), `${path}: run node scripts/families.mjs`).toBe(text);
    expect(lists[2].text).toContain('pool1d: pool1dCases');
  });

  it.each([
    ['src/gpu', ['src/kernels', 'src/engine', 'src/audio', 'src/io', 'src/model', 'src/train', 'src/cli', 'src/embed']],
    ['src/kernels', ['src/engine', 'src/audio', 'src/io', 'src/model', 'src/train', 'src/cli', 'src/embed']],
    // src/io's reading of files named by users (regular-file.ts) is audio's too: io imports nothing of audio.
    ['src/audio', ['src/engine', 'src/model', 'src/train', 'src/cli', 'src/embed']],
    ['src/io', ['src/engine', 'src/model', 'src/train', 'src/cli', 'src/audio', 'src/embed']],
    ['src/model', ['src/train', 'src/cli', 'src/embed']],
    ['src/train', ['src/cli', 'src/embed']],
  ])('%s imports nothing from %s', (folder, forbidden) => {
    const imports = importsBelow(folder);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter(({ target }) => forbidden.some((f) => target === f || target.startsWith(`${f}/`)))).toEqual([]);
  });
});
