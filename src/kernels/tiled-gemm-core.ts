// The workgroup-tiled GEMM core, for GPUs, written out per tile configuration: C[M,N] = Σ_k A[row,k]·B[k,col]
// over a k range, where A, B and the store of C are functions that the including shader defines.
// shaders/gemm.wgsl makes it a plain matrix product; shaders/conv1d-tiled.wgsl makes it the three passes of a
// 1-D convolution as implicit GEMMs (im2col gathered on the fly). Both families call `tiledGemmShader`.
//
// Why generated rather than one WGSL file with override constants: a register block sized by overrides has to
// be a private array of the largest size, indexed inside override-bounded loops, and NVIDIA's compiler put
// such arrays in local memory (the 128×128 tiles ran 13× slower than the 64×64 ones on an H100). Here every
// accumulator, staged element and slab read is a named variable and every loop over them is written out, so
// no private array exists and every index into workgroup memory is a constant offset from the thread's base.
//
// The including shader defines:
//   Params p with fields M, N (the size of C; rows and columns past it are neither loaded nor stored)
//   fn tileOrigin(wid: vec3u, nwg: vec3u) -> vec2u (first row, first column) of the workgroup's tile (TILE_M × TILE_N, emitted here)
//   fn kRange(wid: vec3u) -> vec2u                 [begin, end) of the reduction this workgroup sums
//   fn loadA(row: u32, k: u32) -> f32              zero outside A
//   fn loadB(k: u32, col: u32) -> f32              zero outside B
//   fn aRowsAdjacent() -> bool                     A[row + 1, k] follows A[row, k] in memory (else A[row, k + 1] does)
//   fn bColsAdjacent() -> bool                     B[k, col + 1] follows B[k, col] in memory (else B[k + 1, col] does)
//   fn store(row: u32, col: u32, value: f32, wid: vec3u)
// or, for the aligned specialisation (`AlignedOperands`: the core checks no bounds, so a GEMM uses it where every
// tile is whole and K a multiple of TILE_K; the convolutions' quad reads check their own), instead of the last five:
//   fn loadA4(row: u32, k: u32) -> vec4f           A[row..row+3, k] if aRowsAdjacent, else A[row, k..k+3]
//   fn loadB4(k: u32, col: u32) -> vec4f           B[k, col..col+3] if bColsAdjacent, else B[k..k+3, col]
//   fn store4(row: u32, col: u32, value: vec4f, wid: vec3u)   C[row, col..col+3]
//
// Thread layout: a workgroup of wgX × wgY threads owns a TILE_M × TILE_N block of C, and each thread a
// (4·rowVecs) × (4·colVecs) register block made of 4×4 pieces strided by the workgroup size: thread (x, y)
// owns rows 4·(y + i·wgY) + 0..3 and columns 4·(x + j·wgX) + 0..3 of the block. Strided pieces make
// neighbouring threads read neighbouring vec4s of the staged slabs (no bank conflicts).
//
// The workgroup stages tileK-deep slabs of A and B in workgroup memory (k-major, so each k step is rowVecs +
// colVecs vec4 reads for 16·rowVecs·colVecs vec4 FMAs), reading the next slabs from global memory into
// registers while it multiplies the current ones. One buffer: two barriers per k step (the slabs are
// rewritten only once every thread has read them). Two buffers (`doubleBuffer`): the next slabs go into the
// other buffer, one barrier per k step, twice the workgroup memory.
//
// Sliced (`kSlices`, one buffer only; CUTLASS's "sliced-k"): the workgroup holds kSlices groups of wgX × wgY
// threads (its z), each with slabs and a register block of its own; slice z stages and multiplies slabs z,
// z + kSlices, ... of the k range. A round of the loop takes one slab per slice, so every thread meets the same
// barriers, and a slice with no slab left in the last round stages zeros. At the end the slices' register blocks
// are summed into slice 0's through the slabs, and slice 0 stores the tile. It puts more warps on each tile of a
// grid too small to fill a GPU, without the second dispatch of a split.
//
// Staging, generic: each thread reads scalars through loadA/loadB (bounds-checked there), consecutive threads
// taking elements adjacent in memory. Aligned: each thread reads vec4s along the operand's contiguous side,
// consecutive threads taking consecutive vec4s. Along the tile's side (transposed A, plain B) a vec4 is one
// slab vec4; along k (plain A, transposed B) it is scattered as 4 scalars into 4 k rows of the slab. There
// threads walk the side first, at most 2 vec4s (32 bytes, one memory sector) along k before it, so that a
// warp's 4 scalar writes per vec4 land in distinct banks (k rows are tile + 4 words apart: 2 k-quads sit 16
// banks apart; 4 would collide in pairs).
// Measured on the H200: GEMM 4096³ runs 42.5 TFLOP/s with no k-contiguous operand (the weight gradient), 39.1-39.3
// with one (forward), 35.0-36.2 with two (the input gradient). Two other slab layouts for such operands were timed
// there on every tile and dropped, neither faster: 4×4 blocks transposed in registers (whole-vec4 writes into the
// k-major slab; `git show 5cf3c4c:bench/results/bench-nvidia-nvidia-h200.txt`) and side-major slabs (each row's k-quads side by side,
// written whole as read, the multiply taking 4 k at a time; bench-nvidia-nvidia-h200-side-major.txt and
// bench-nvidia-nvidia-h200-final.txt). So the cost is not in the slab writes; GEMMs may transpose such operands
// first instead (`transposeFirst` in src/kernels/gemm.ts).

/** A tile configuration of the core (src/kernels/gemm.ts's GemmTileConfig with kernel 'tiled'). */
export interface TiledLayout {
  /** Threads per workgroup along N and along M. */
  wgX: number;
  wgY: number;
  /** vec4 pieces of C per thread along M and N: a (4·rowVecs) × (4·colVecs) register block. */
  rowVecs: number;
  colVecs: number;
  /** Depth of the workgroup-memory slabs. */
  tileK: number;
  /** Two slab buffers, one barrier per k step. */
  doubleBuffer?: boolean;
  /** The reduction sliced over this many groups of wgX × wgY threads in the workgroup (its z), each staging and
   * multiplying every kSlices-th slab into a register block of its own, the blocks summed through workgroup memory
   * at the end (see the header). One slab buffer only. */
  kSlices?: number;
}

/** The aligned specialisation's operand layouts, fixed when the core is written out (one text per pair). */
export interface AlignedOperands {
  /** A[row + 1, k] follows A[row, k] in memory (else A[row, k + 1] does). */
  aRowsAdjacent: boolean;
  /** B[k, col + 1] follows B[k, col] in memory (else B[k + 1, col] does). */
  bColsAdjacent: boolean;
}

/** Whether the aligned specialisation serves an M×N×K product on this layout: whole tiles, K whole slabs, and
 * slabs a whole number of k-quads (every vec4 along k stays inside one slab). */
export function tiledAligned(c: TiledLayout, M: number, N: number, K: number): boolean {
  const { tileM, tileN } = tiledTile(c);
  return c.tileK % 4 === 0 && M % tileM === 0 && N % tileN === 0 && K % c.tileK === 0 && K > 0;
}

/** Staged slab elements per thread and operand at most: each is a register held across the k step. */
const MAX_STAGED = 16;

/** Tile sides of a layout (of this core or of the direct kernel, which has the same thread layout). */
export function tiledTile(c: TiledLayout): { tileM: number; tileN: number } {
  const whole = [c.wgX, c.wgY, c.rowVecs, c.colVecs, c.tileK].every((v) => Number.isInteger(v) && v >= 1);
  if (!whole || c.rowVecs > 4 || c.colVecs > 4) throw new Error(`gemm: bad tile layout ${JSON.stringify(c)} (rowVecs, colVecs 1 to 4)`);
  return { tileM: 4 * c.rowVecs * c.wgY, tileN: 4 * c.colVecs * c.wgX };
}

/** Threads per workgroup: wgX × wgY per slice of the reduction. */
export const tiledThreads = (c: TiledLayout) => c.wgX * c.wgY * slices(c);
const slices = (c: TiledLayout) => c.kSlices ?? 1;

/** Workgroup memory of the slabs: each k row padded by a vec4 (so that staging a k-contiguous operand spreads
 * its writes over the banks), twice for a double buffer, once per slice of the reduction. */
export function tiledSlabBytes(c: TiledLayout): number {
  const { tileM, tileN } = tiledTile(c);
  return slices(c) * (c.doubleBuffer ? 2 : 1) * c.tileK * (tileM / 4 + 1 + tileN / 4 + 1) * 16;
}

const shaders = new Map<string, Map<string, string>>();
/** The same, found by the layout object (the tuner's and the rules' configurations live as long as the process):
 * a dispatch then builds no key (the JSON key above was 6 % of a training step's JavaScript on the GPU path).
 * Per layout, per prelude, by `sidesCode`. */
const byLayout = new WeakMap<TiledLayout, Map<string, string[]>>();
const sidesCode = (a?: AlignedOperands) => (a ? 1 + (a.aRowsAdjacent ? 1 : 0) + (a.bColsAdjacent ? 2 : 0) : 0);

/** `prelude` (the family's bindings and operand functions) followed by the core for `layout`. Cached, so that
 * every dispatch of a configuration passes the same string (the runtime caches modules by shader text). */
export function tiledGemmShader(prelude: string, layout: TiledLayout, aligned?: AlignedOperands): string {
  let byPrelude = byLayout.get(layout);
  if (!byPrelude) byLayout.set(layout, (byPrelude = new Map()));
  let bySides = byPrelude.get(prelude);
  if (!bySides) byPrelude.set(prelude, (bySides = []));
  return (bySides[sidesCode(aligned)] ??= shaderText(prelude, layout, aligned));
}

function shaderText(prelude: string, layout: TiledLayout, aligned?: AlignedOperands): string {
  const key = JSON.stringify([layout.wgX, layout.wgY, layout.rowVecs, layout.colVecs, layout.tileK, !!layout.doubleBuffer, slices(layout), aligned ?? null]);
  let byKey = shaders.get(prelude);
  if (!byKey) shaders.set(prelude, (byKey = new Map()));
  let shader = byKey.get(key);
  if (!shader) byKey.set(key, (shader = prelude + tiledGemmCore(layout, aligned)));
  return shader;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lines = (n: number, line: (i: number) => string | string[]) => range(n).flatMap(line);
const indent = (depth: number, text: string[]) => text.map((l) => '  '.repeat(depth) + l);
const COMPONENTS = ['x', 'y', 'z', 'w'];

/** How the threads stage the slabs: per-thread set-up (positions), registers, the global reads of the slabs
 * at k offset `k`, their writes into the slabs at buffer offsets `at`, and the store of one vec4 of C. */
interface Staging {
  positions: string[];
  registers: string[];
  fetch: (k: string) => string[];
  /** Zeros into the registers: a slice's share of a last round that its reduction has no slab for. */
  clear: string[];
  stage: (at: Record<string, string>) => string[];
  storeVec: (row: string, col: string, acc: string) => string;
  /** WGSL functions that the above call. */
  helpers: string;
}

const GENERIC_HELPERS = `
// Position (m, k) in the A slab of the l-th staged element: consecutive threads take elements that are
// adjacent in memory, so the global reads coalesce whichever way the operand is laid out.
fn slabPosA(l: u32) -> vec2u {
  if (aRowsAdjacent()) {
    return vec2u(l % TILE_M, l / TILE_M);
  }
  return vec2u(l / TILE_K, l % TILE_K);
}

// Position (n, k) in the B slab of the l-th staged element.
fn slabPosB(l: u32) -> vec2u {
  if (bColsAdjacent()) {
    return vec2u(l % TILE_N, l / TILE_N);
  }
  return vec2u(l / TILE_K, l % TILE_K);
}

// A[row, k], zero past the workgroup's k range (a split reduction must not count its neighbour's share).
fn stagedA(row: u32, k: u32, kEnd: u32) -> f32 {
  if (k >= kEnd) {
    return 0.0;
  }
  return loadA(row, k);
}

fn stagedB(k: u32, col: u32, kEnd: u32) -> f32 {
  if (k >= kEnd) {
    return 0.0;
  }
  return loadB(k, col);
}

// Writes 4 adjacent elements of C through \`store\`, clipped to C.
fn storeVec(row: u32, col: u32, v: vec4f, wid: vec3u) {
  if (row >= p.M) {
    return;
  }
${[0, 1, 2, 3].map((q) => `  if (col + ${q}u < p.N) {\n    store(row, col + ${q}u, v.${COMPONENTS[q]}, wid);\n  }`).join('\n')}
}
`;

/** Generic staging: scalars through loadA/loadB, any sizes. Staged element t of operand X: its position pX_t
 * (row or column, k offset) and its slab index sX_t and component cX_t. */
function genericStaging(c: TiledLayout, tileM: number, tileN: number, threads: number): Staging {
  const operands = [
    { name: 'A', elements: c.tileK * tileM },
    { name: 'B', elements: c.tileK * tileN },
  ].map((o) => ({ ...o, count: Math.ceil(o.elements / threads), whole: o.elements % threads === 0 }));
  return {
    positions: operands.flatMap(({ name, count }) =>
      lines(count, (t) => [
        `let p${name}${t} = slabPos${name}(lt + ${t * threads}u);`,
        `let s${name}${t} = p${name}${t}.y * SLAB_${name}_ROW + p${name}${t}.x / 4u;`,
        `let c${name}${t} = p${name}${t}.x % 4u;`,
      ]),
    ),
    registers: operands.flatMap(({ name, count }) => lines(count, (t) => `var next${name}${t}: f32;`)),
    clear: operands.flatMap(({ name, count }) => lines(count, (t) => `next${name}${t} = 0.0;`)),
    fetch: (k) =>
      operands.flatMap(({ name, count }) =>
        lines(count, (t) => (name === 'A' ? `nextA${t} = stagedA(row0 + pA${t}.x, ${k} + pA${t}.y, ks.y);` : `nextB${t} = stagedB(${k} + pB${t}.y, col0 + pB${t}.x, ks.y);`)),
      ),
    stage: (at) =>
      operands.flatMap(({ name, count, whole, elements }) =>
        lines(count, (t) => {
          const write = `slab${name}[${at[name]}s${name}${t}][c${name}${t}] = next${name}${t};`;
          return whole || t < count - 1 ? write : `if (lt + ${t * threads}u < ${elements}u) { ${write} }`;
        }),
      ),
    storeVec: (row, col, acc) => `storeVec(${row}, ${col}, ${acc}, wid);`,
    helpers: GENERIC_HELPERS,
  };
}

/** Aligned staging: vec4s through loadA4/loadB4, no bounds checks (see the header). Staged vec4 t of operand
 * X: pX_t is (row or column, k offset) of its first element, sX_t its slab index, cX_t its component when
 * scattered along k. */
function alignedStaging(c: TiledLayout, tileM: number, tileN: number, threads: number, layout: AlignedOperands): Staging {
  const operands = [
    { name: 'A', side: tileM, alongSide: layout.aRowsAdjacent },
    { name: 'B', side: tileN, alongSide: layout.bColsAdjacent },
  ].map((o) => {
    const vecs = (c.tileK * o.side) / 4;
    return { ...o, vecs, count: Math.ceil(vecs / threads), whole: vecs % threads === 0 };
  });
  // Along k, the k-quads that consecutive threads take before moving along the side (see the header).
  const inner = Math.min(c.tileK / 4, 2);
  const position = (side: number, alongSide: boolean, l: string) =>
    alongSide ? `vec2u(4u * (${l} % ${side / 4}u), ${l} / ${side / 4}u)` : `vec2u((${l} / ${inner}u) % ${side}u, 4u * ((${l} / ${inner * side}u) * ${inner}u + ${l} % ${inner}u))`;
  const guarded = (o: (typeof operands)[number], t: number, text: string[]) =>
    o.whole || t < o.count - 1 ? text : [`if (lt + ${t * threads}u < ${o.vecs}u) {`, ...indent(1, text), '}'];
  return {
    positions: operands.flatMap(({ name, side, alongSide, count }) =>
      lines(count, (t) => [
        `let p${name}${t} = ${position(side, alongSide, `(lt + ${t * threads}u)`)};`,
        `let s${name}${t} = p${name}${t}.y * SLAB_${name}_ROW + p${name}${t}.x / 4u;`,
        ...(alongSide ? [] : [`let c${name}${t} = p${name}${t}.x % 4u;`]),
      ]),
    ),
    registers: operands.flatMap(({ name, count }) => lines(count, (t) => `var next${name}${t}: vec4f;`)),
    clear: operands.flatMap(({ name, count }) => lines(count, (t) => `next${name}${t} = vec4f(0.0);`)),
    fetch: (k) =>
      operands.flatMap((o) =>
        lines(o.count, (t) => guarded(o, t, [o.name === 'A' ? `nextA${t} = loadA4(row0 + pA${t}.x, ${k} + pA${t}.y);` : `nextB${t} = loadB4(${k} + pB${t}.y, col0 + pB${t}.x);`])),
      ),
    stage: (at) =>
      operands.flatMap((o) =>
        lines(o.count, (t) => {
          const n = o.name;
          const writes = o.alongSide
            ? [`slab${n}[${at[n]}s${n}${t}] = next${n}${t};`]
            : lines(4, (q) => `slab${n}[${at[n]}s${n}${t}${q > 0 ? ` + ${q}u * SLAB_${n}_ROW` : ''}][c${n}${t}] = next${n}${t}.${COMPONENTS[q]};`);
          return guarded(o, t, writes);
        }),
      ),
    storeVec: (row, col, acc) => `store4(${row}, ${col}, ${acc}, wid);`,
    helpers: '',
  };
}

/** The core's WGSL for one layout: entry point `gemm_tiled`; with `aligned`, the aligned specialisation. */
export function tiledGemmCore(c: TiledLayout, aligned?: AlignedOperands): string {
  const { tileM, tileN } = tiledTile(c);
  const threads = c.wgX * c.wgY; // per slice
  const S = slices(c);
  if (Math.max(tileM, tileN) * c.tileK > MAX_STAGED * threads) throw new Error(`tiled gemm: tileK=${c.tileK} stages more than ${MAX_STAGED} elements per thread`);
  if (aligned && c.tileK % 4 !== 0) throw new Error(`tiled gemm: the aligned core needs tileK a multiple of 4, not ${c.tileK}`);
  if (!Number.isInteger(S) || S < 1 || (S > 1 && c.doubleBuffer)) throw new Error(`tiled gemm: kSlices must be a whole number from 1, and 1 with two slab buffers (not ${S})`);
  const buffers = c.doubleBuffer ? 2 : 1;
  const slabALength = buffers * c.tileK * (tileM / 4 + 1);
  const slabBLength = buffers * c.tileK * (tileN / 4 + 1);
  const { positions, registers, fetch, clear, stage, storeVec, helpers } = aligned ? alignedStaging(c, tileM, tileN, threads, aligned) : genericStaging(c, tileM, tileN, threads);
  // One k step: rowVecs + colVecs vec4 reads of the slabs, then the register block's FMAs.
  const step = (at: Record<string, string>, k: number) => [
    '{',
    ...indent(1, [
      ...lines(c.rowVecs, (i) => `let a${i} = slabA[${at.A}${k * (tileM / 4 + 1) + i * c.wgY}u + lid.y];`),
      ...lines(c.colVecs, (j) => `let b${j} = slabB[${at.B}${k * (tileN / 4 + 1) + j * c.wgX}u + lid.x];`),
      ...lines(4 * c.rowVecs, (row) => lines(c.colVecs, (j) => `acc${row}_${j} = fma(vec4f(a${row >> 2}.${COMPONENTS[row & 3]}), b${j}, acc${row}_${j});`)),
    ]),
    '}',
  ];
  const multiply = (at: Record<string, string>) => range(c.tileK).flatMap((k) => step(at, k));
  // A slice's own slabs, k offset and next slab's fetch (a last round may hold no slab of the range for it).
  const sliced = S > 1;
  const start = sliced ? { A: 'sliceA + ', B: 'sliceB + ' } : { A: '', B: '' };
  const sliceK = sliced ? ' + lid.z * TILE_K' : '';
  const roundK = sliced ? 'K_SLICES * TILE_K' : 'TILE_K';
  const fetchOwn = (k: string) => [`if (${k} < ks.y) {`, ...indent(1, fetch(k)), ...(sliced ? ['} else {', ...indent(1, clear)] : []), '}'];
  const loop = c.doubleBuffer
    ? [
        // Buffer `cur` is read while the other is written: one barrier per k step.
        ...stage(start),
        'workgroupBarrier();',
        'var cur = 0u;',
        'for (var k0 = ks.x; k0 < ks.y; k0 += TILE_K) {',
        ...indent(1, [
          'let k1 = k0 + TILE_K;',
          'let more = k1 < ks.y;',
          'if (more) {',
          ...indent(1, fetch('k1')),
          '}',
          'let readA = cur * SLAB_A_LEN;',
          'let readB = cur * SLAB_B_LEN;',
          ...multiply({ A: 'readA + ', B: 'readB + ' }),
          'if (more) {',
          ...indent(1, ['let writeA = SLAB_A_LEN - readA;', 'let writeB = SLAB_B_LEN - readB;', ...stage({ A: 'writeA + ', B: 'writeB + ' })]),
          '}',
          'workgroupBarrier();',
          'cur = 1u - cur;',
        ]),
        '}',
      ]
    : [
        // A round stages and multiplies one slab per slice: the bounds are the workgroup's, so every thread
        // meets the barriers.
        `for (var k0 = ks.x; k0 < ks.y; k0 += ${roundK}) {`,
        ...indent(1, [
          ...stage(start),
          'workgroupBarrier();',
          `let k1 = k0 + ${roundK}${sliceK};`,
          ...fetchOwn('k1'),
          ...multiply(start),
          // The slabs are rewritten at the next step: every thread must have read them first.
          'workgroupBarrier();',
        ]),
        '}',
      ];
  const accumulators = lines(4 * c.rowVecs, (row) => lines(c.colVecs, (j) => `acc${row}_${j}`));
  const storeRows = lines(c.rowVecs, (i) =>
    lines(4, (r) => lines(c.colVecs, (j) => storeVec(`row0 + ${4 * i * c.wgY + r}u + 4u * lid.y`, `col0 + ${4 * j * c.wgX}u + 4u * lid.x`, `acc${4 * i + r}_${j}`))),
  );
  return `
// ---- The tiled GEMM core, written out by src/kernels/tiled-gemm-core.ts for ${tileM}×${tileN} tiles, ${4 * c.rowVecs}×${4 * c.colVecs} per thread, k ${c.tileK}${c.doubleBuffer ? ', two slab buffers' : ''}${sliced ? `, the reduction in ${S} slices` : ''}${aligned ? `, aligned (A ${aligned.aRowsAdjacent ? 'rows' : 'k'} adjacent, B ${aligned.bColsAdjacent ? 'columns' : 'k'} adjacent)` : ''}.

const TILE_M = ${tileM}u;
const TILE_N = ${tileN}u;
const TILE_K = ${c.tileK}u;${sliced ? `\nconst K_SLICES = ${S}u;` : ''}
// Rows of the staged slabs in vec4s (padded by one), and one buffer's length.
const SLAB_A_ROW = ${tileM / 4 + 1}u;
const SLAB_B_ROW = ${tileN / 4 + 1}u;
const SLAB_A_LEN = ${c.tileK * (tileM / 4 + 1)}u;
const SLAB_B_LEN = ${c.tileK * (tileN / 4 + 1)}u;

// A and B slabs, k-major: slabA[k·SLAB_A_ROW + m/4][m%4] = A[row0 + m, k0 + k] (then the second buffer${sliced ? ', then the next slice' : ''}).
var<workgroup> slabA: array<vec4f, ${S * slabALength}>;
var<workgroup> slabB: array<vec4f, ${S * slabBLength}>;

${helpers}@compute @workgroup_size(${c.wgX}, ${c.wgY}${sliced ? `, ${S}` : ''})
fn gemm_tiled(
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
) {
  let origin = tileOrigin(wid, nwg);
  let row0 = origin.x;
  let col0 = origin.y;
  if (row0 >= p.M) {
    return; // a workgroup of a folded grid's last row past the end: uniform across the workgroup
  }
  let ks = kRange(wid);
  let lt = lid.y * ${c.wgX}u + lid.x; // the thread in its ${sliced ? 'slice' : 'workgroup'}${sliced ? `\n  let sliceA = lid.z * ${slabALength}u;\n  let sliceB = lid.z * ${slabBLength}u;` : ''}
${indent(1, positions).join('\n')}
  // The next slabs' elements, read into registers while the current slabs are multiplied, so that the global
  // loads' latency hides behind the FMAs.
${indent(1, registers).join('\n')}
${indent(1, sliced ? fetchOwn(`ks.x${sliceK}`) : fetch('ks.x')).join('\n')}
  // The register block: acc{r}_{j} holds row 4·(lid.y + (r / 4)·${c.wgY}) + r % 4 of the tile, piece j's 4 columns.
${indent(1, accumulators.map((acc) => `var ${acc} = vec4f(0.0);`)).join('\n')}
${indent(1, loop).join('\n')}
${indent(1, sliced ? [...sumSlices(accumulators, threads, S * slabALength, S * slabBLength), 'if (lid.z == 0u) {', ...indent(1, storeRows), '}'] : storeRows).join('\n')}
}
`;
}

/** The slices' register blocks summed into slice 0's, through the slabs (free once the loop's last barrier has
 * passed): slice by slice, as many accumulators a round as the slabs hold for every thread of a slice. */
function sumSlices(accumulators: string[], threads: number, slabALength: number, slabBLength: number): string[] {
  const [inA, inB] = [Math.floor(slabALength / threads), Math.floor(slabBLength / threads)];
  const perRound = inA + inB;
  if (perRound < 1) throw new Error(`tiled gemm: the slabs cannot hold a vec4 per thread of a slice (${threads} threads)`);
  const slot = (i: number) => (i < inA ? `slabA[${i * threads}u + lt]` : `slabB[${(i - inA) * threads}u + lt]`);
  const rounds = range(Math.ceil(accumulators.length / perRound)).map((r) => accumulators.slice(r * perRound, (r + 1) * perRound));
  return [
    '// The other slices\' register blocks added into slice 0\'s, one slice at a time.',
    'for (var slice = 1u; slice < K_SLICES; slice++) {',
    ...indent(
      1,
      rounds.flatMap((round) => [
        'if (lid.z == slice) {',
        ...indent(1, round.map((acc, i) => `${slot(i)} = ${acc};`)),
        '}',
        'workgroupBarrier();',
        'if (lid.z == 0u) {',
        ...indent(1, round.map((acc, i) => `${acc} += ${slot(i)};`)),
        '}',
        'workgroupBarrier();',
      ]),
    ),
    '}',
  ];
}
