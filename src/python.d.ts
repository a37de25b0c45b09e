// The Python files that `ser export --format pytorch` writes are bundled as text (esbuild's text loader; the
// vitest plugin in vitest.config.ts does the same), so the CLI needs no source tree beside it.
declare module '*.py' {
  const source: string;
  export default source;
}
