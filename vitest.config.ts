import { defineConfig } from 'vitest/config';

// Shaders are plain .wgsl files (and the exported Python plain .py files) imported as text, as esbuild's text
// loader does for the bundles.
const wgslAsText = {
  name: 'wgsl-as-text',
  transform(code: string, id: string) {
    if (id.endsWith('.wgsl') || id.endsWith('.py')) return { code: `export default ${JSON.stringify(code)};`, map: null };
  },
};

export default defineConfig({
  plugins: [wgslAsText],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // test/memory.test.ts collects garbage to check that forgotten tensors are released.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    fileParallelism: false,
  },
});
