// WGSL sources are bundled as text (esbuild's text loader; a small vite plugin in vitest.config.ts).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
