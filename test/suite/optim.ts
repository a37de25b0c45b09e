// The optimiser kernels (family optim: dropout masks, SpecAugment's span masks and AdamW) against the CPU
// reference, on odd sizes.

import type { AdamOptions, SpanMaskOptions } from '../../src/kernels/index.js';
import { assert, assertClose, assertThrows, type Ser, type SuiteCase } from './harness.js';
import { f32, FORWARD, fresh, GRADIENT, seededByName, withBackend } from './training-data.js';

const cases: SuiteCase[] = [
  ...[
    [100_003, 0.3, 12345],
    [100_000, 0.5, 7],
    [1_000_001, 0.1, 0xdeadbeef],
    [4099, 0, 3],
  ].map(([length, p, maskSeed]) => ({
    family: 'optim',
    name: `dropout length ${length}, p ${p}: the mask identical to the CPU, keeps ≈ 1 − p, y = x·mask`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const x = fresh(length);
        const out = ser.kernels.dropout(b, keep(b.upload(x)), p, maskSeed);
        const gpu = await b.download(keep(out.mask));
        const cpu = f32(ser.reference.dropoutMask(length, p, maskSeed));
        assertClose(await b.download(keep(out.y)), f32(Array.from(x, (v, i) => v * cpu[i])), FORWARD, 'y');
        const scale = Math.fround(1 / (1 - p));
        let kept = 0;
        for (let i = 0; i < length; i++) {
          if (gpu[i] !== cpu[i]) throw new Error(`mask[${i}] is ${gpu[i]} on the GPU but ${cpu[i]} on the CPU`);
          assert(gpu[i] === 0 || gpu[i] === scale, `mask[${i}] = ${gpu[i]} is neither 0 nor 1/(1 − p)`);
          if (gpu[i] !== 0) kept++;
        }
        // The kept fraction's standard deviation is sqrt(p(1 − p)/length) ≤ 0.0016 here: 0.01 is over 6 of them.
        const fraction = kept / length;
        assert(Math.abs(fraction - (1 - p)) < 0.01, `kept ${fraction.toFixed(4)} of the elements, expected ≈ ${1 - p}`);
      }),
  })),
  {
    family: 'optim',
    name: 'dropout: another seed gives another mask, the same seed the same',
    run: (ser) =>
      withBackend(ser, async (b, keep) => {
        const ones = keep(b.upload(new Float32Array(10_007).fill(1)));
        const mask = async (seed: number) => {
          const out = ser.kernels.dropout(b, ones, 0.5, seed);
          keep(out.y);
          return b.download(keep(out.mask));
        };
        const a = await mask(1);
        const again = await mask(1);
        const other = await mask(2);
        let same = 0;
        for (let i = 0; i < a.length; i++) {
          assert(a[i] === again[i], `seed 1 gave two different masks (element ${i})`);
          if (a[i] === other[i]) same++;
        }
        assert(Math.abs(same / a.length - 0.5) < 0.05, `masks of seeds 1 and 2 agree on ${same} of ${a.length} elements`);
      }),
  },
  ...(
    [
      [[3, 7, 101], { masks: 2, maxBands: 3, maxFrames: 17 }, 11],
      [[5, 64, 301], { masks: 2, maxBands: 8, maxFrames: 30 }, 0xdeadbeef],
      [[2, 5, 9], { masks: 4, maxBands: 9, maxFrames: 20 }, 4], // spans as wide as the whole plane, and wider
      [[70, 3, 1], { masks: 1, maxBands: 1, maxFrames: 1 }, 5],
      [[4, 6, 33], { masks: 0, maxBands: 4, maxFrames: 4 }, 6],
    ] as [[number, number, number], SpanMaskOptions, number][]
  ).map(([shape, o, maskSeed]) => ({
    family: 'optim',
    name: `spanMask x[${shape}], ${o.masks} spans of ≤ ${o.maxBands} bands and of ≤ ${o.maxFrames} frames: identical to the CPU, and per row at most that many spans of each`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const [rows, channels, frames] = shape;
        const gpu = await b.download(keep(ser.kernels.spanMask(b, shape, o, maskSeed)));
        const cpu = ser.reference.spanMask(rows, channels, frames, o, maskSeed);
        for (let i = 0; i < gpu.length; i++) if (gpu[i] !== cpu[i]) throw new Error(`mask[${i}] is ${gpu[i]} on the GPU but ${cpu[i]} on the CPU`);
        // Zero runs of a 0/1 sequence, as [start, end) pairs.
        const runs = (keepAt: (i: number) => boolean, n: number) => {
          const out: [number, number][] = [];
          for (let i = 0; i < n; i++) if (!keepAt(i)) out.length && out[out.length - 1][1] === i ? (out[out.length - 1][1] = i + 1) : out.push([i, i + 1]);
          return out;
        };
        let masked = 0;
        for (let n = 0; n < rows; n++) {
          const at = (c: number, l: number) => gpu[(n * channels + c) * frames + l];
          const plane = gpu.subarray(n * channels * frames, (n + 1) * channels * frames);
          if (plane.every((v) => v === 0)) {
            masked += plane.length; // every band, or every frame, masked: which spans did it cannot be told
            continue;
          }
          // A band is masked at every frame or at none, a frame at every band or none (outside the masked bands).
          const bandKept = Array.from({ length: channels }, (_, c) => Array.from({ length: frames }, (_, l) => at(c, l)).some((v) => v === 1));
          const frameKept = Array.from({ length: frames }, (_, l) => Array.from({ length: channels }, (_, c) => at(c, l)).some((v) => v === 1));
          for (let c = 0; c < channels; c++) {
            for (let l = 0; l < frames; l++) {
              const want = bandKept[c] && frameKept[l] ? 1 : 0;
              assert(at(c, l) === want, `row ${n}: mask[${c}, ${l}] is ${at(c, l)}, but band ${c} is ${bandKept[c] ? 'kept' : 'masked'} and frame ${l} ${frameKept[l] ? 'kept' : 'masked'}`);
              if (!want) masked++;
            }
          }
          // Spans may overlap or touch (fewer runs), never exceed the count, and each is at most the width.
          for (const [kind, kept, width] of [['band', bandKept, o.maxBands], ['frame', frameKept, o.maxFrames]] as const) {
            const zero = runs((i) => kept[i], kept.length);
            assert(zero.length <= o.masks, `row ${n}: ${zero.length} masked ${kind} spans, at most ${o.masks} drawn`);
            const widest = Math.max(0, ...zero.map(([a, z]) => z - a));
            assert(widest <= o.masks * width, `row ${n}: a masked ${kind} run of ${widest}, past ${o.masks} spans of ${width}`);
          }
        }
        if (o.masks === 0) assert(masked === 0, `no spans drawn, yet ${masked} elements masked`);
        else assert(masked > 0, 'no element masked: the spans should mask some');
      }),
  })),
  {
    family: 'optim',
    name: 'spanMask: another seed gives other spans, the same seed the same; its sizes are checked',
    run: (ser) =>
      withBackend(ser, async (b, keep) => {
        const o = { masks: 2, maxBands: 10, maxFrames: 40 };
        const mask = async (seed: number) => b.download(keep(ser.kernels.spanMask(b, [8, 40, 200], o, seed)));
        const a = await mask(1);
        assert((await mask(1)).every((v, i) => v === a[i]), 'seed 1 gave two different masks');
        const other = await mask(2);
        assert(other.some((v, i) => v !== a[i]), 'seeds 1 and 2 gave the same mask');
        await assertThrows(() => ser.kernels.spanMask(b, [2, 3, 4], { ...o, masks: 5 }, 1), /spanMask: masks must be an integer in \[0, 4\], got 5/, '5 spans');
        await assertThrows(() => ser.kernels.spanMask(b, [2, 3, 4], { ...o, maxFrames: -1 }, 1), /spanMask: maxFrames must be an integer in \[0, 65535\], got -1/, 'a negative width');
        await assertThrows(() => ser.kernels.spanMask(b, [2, 12] as unknown as [number, number, number], o, 1), /spanMask: shape \[2,12\] must be \[N, C, L\]/, 'a shape of rank 2');
      }),
  },
  ...[1, 7, 10_007, 300_001].map((n) => ({
    family: 'optim',
    name: `adamStep: 3 consecutive steps of ${n} parameters in one part`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        let param: ArrayLike<number> = fresh(n);
        let m: ArrayLike<number> = fresh(n, 0.1);
        let v: ArrayLike<number> = fresh(n, 0.1).map(Math.abs);
        const [ps, ms, vs] = [param, m, v].map((a) => keep(b.upload(f32(a))));
        for (let step = 1; step <= 3; step++) {
          const o: AdamOptions = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step };
          const grad = fresh(n);
          ser.kernels.adamStep(b, ps, ms, vs, [{ offset: 0, length: n, grad: keep(b.upload(grad)) }], o);
          const ref = ser.reference.adamStep(param, grad, m, v, o);
          const gpuParam = await b.download(ps);
          // The parameters barely move in a step, so also measure the error against the step's scale, lr per element.
          let squares = 0;
          for (let i = 0; i < n; i++) squares += (gpuParam[i] - ref.param[i]) ** 2;
          const stepError = Math.sqrt(squares / n) / o.lr;
          assert(stepError < GRADIENT, `step ${step}: the parameters are off by ${stepError.toExponential(2)} of a learning rate`);
          assertClose(gpuParam, ref.param, FORWARD, `step ${step} param`);
          assertClose(await b.download(ms), ref.m, FORWARD, `step ${step} m`);
          assertClose(await b.download(vs), ref.v, FORWARD, `step ${step} v`);
          // Carry on from the GPU's float32 state, as training does.
          [param, m, v] = [gpuParam, await b.download(ms), await b.download(vs)];
        }
      }),
  })),
  {
    family: 'optim',
    name: 'adamStep: 31 parts of odd lengths at odd offsets, gradients in buffers and views of their own: each range as the reference, the gaps untouched, as many dispatches as the bindings need',
    run: (ser) =>
      withBackend(ser, async (b, keep) => {
        const lengths = Array.from({ length: 31 }, (_, j) => [1, 3, 7, 64, 257, 1029][j % 6] + j);
        // Part j starts 5 + j elements after part j − 1 ends: the gaps must keep their values.
        const offsets: number[] = [];
        let end = 0;
        for (const n of lengths) {
          end += 5 + offsets.length;
          offsets.push(end);
          end += n;
        }
        const flat = { param: fresh(end), m: fresh(end, 0.1), v: fresh(end, 0.1).map(Math.abs) };
        const [ps, ms, vs] = [flat.param, flat.m, flat.v].map((a) => keep(b.upload(f32(a))));
        const grads = lengths.map((n) => fresh(n));
        // Every third gradient is a view into a buffer of its own, past a first range (the binding's offset); every
        // fifth has values past its part's length, which the kernel must not read.
        const storages = grads.map((g, j) => {
          if (j % 3 === 1) {
            const base = keep(b.upload(f32([...new Array(b.viewAlignment).fill(99), ...g])));
            return b.view(base, b.viewAlignment, g.length);
          }
          return keep(b.upload(j % 5 === 2 ? f32([...g, 1e9, -1e9]) : f32(g)));
        });
        const o: AdamOptions = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step: 4 };
        const runtime = ser.engine().runtime;
        const before = runtime?.counts.dispatches ?? 0;
        ser.kernels.adamStep(b, ps, ms, vs, lengths.map((length, j) => ({ offset: offsets[j], length, grad: storages[j] })), o);
        if (runtime) {
          const want = Math.ceil(lengths.length / ser.kernels.adamPartsPerDispatch(runtime));
          assert(want > 1, `${lengths.length} parts fit one dispatch: the case would not cross one`);
          assert(runtime.counts.dispatches - before === want, `${runtime.counts.dispatches - before} dispatches, expected ${want}`);
        }
        const want = { param: f32(flat.param), m: f32(flat.m), v: f32(flat.v) };
        lengths.forEach((n, j) => {
          const range = (a: ArrayLike<number>) => Array.from(a).slice(offsets[j], offsets[j] + n);
          const r = ser.reference.adamStep(range(flat.param), grads[j], range(flat.m), range(flat.v), o);
          want.param.set(r.param, offsets[j]);
          want.m.set(r.m, offsets[j]);
          want.v.set(r.v, offsets[j]);
        });
        const got = { param: await b.download(ps), m: await b.download(ms), v: await b.download(vs) };
        for (const key of ['param', 'm', 'v'] as const) {
          assertClose(got[key], want[key], FORWARD, key);
          for (let j = 0; j < lengths.length; j++) {
            const gapEnd = offsets[j];
            for (let i = j === 0 ? 0 : offsets[j - 1] + lengths[j - 1]; i < gapEnd; i++) {
              assert(got[key][i] === f32([flat[key][i]])[0], `${key}[${i}], in the gap before part ${j}, changed`);
            }
          }
        }
        await assertThrows(
          () => ser.kernels.adamStep(b, ps, ms, vs, [{ offset: end - 2, length: 3, grad: storages[1] }], o),
          /adamStep: a part of 3 values at \d+ does not fit param\[\d+\]/,
          'a part past the end of param',
        );
      }),
  },
  {
    family: 'optim',
    name: 'Adam: one dispatch updates every parameter (odd sizes), a step without one gradient still one, then one per step count, as the reference per parameter',
    async run(ser) {
      const sizes = [3, 1, 257, 4099, 17];
      const o = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
      type State = { param: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number> };
      let state: State[] = sizes.map((n) => ({ param: fresh(n), m: new Float64Array(n), v: new Float64Array(n) }));
      const params = state.map((s) => ser.tensor(f32(s.param), [s.param.length], { requiresGrad: true }));
      const adam = new ser.Adam(params, o);
      const runtime = ser.engine().runtime;
      // Each parameter's own step count, as torch keeps it: for its bias corrections.
      const counts = sizes.map(() => 0);
      // Parameter 3 gets no gradient in step 2: it must not move (torch skips it), and the rest takes one dispatch.
      // In step 3 it takes its second step, the others their third: a dispatch for each count, each with its own
      // corrections. Step 1 (all counts equal) is the training's case: one dispatch.
      const dispatches = [1, 1, 2];
      try {
        for (let step = 1; step <= 3; step++) {
          const skipped = step === 2 ? 3 : -1;
          const grads = sizes.map((n, i) => (i === skipped ? null : fresh(n)));
          grads.forEach((g, i) => g && counts[i]++);
          params.forEach((p, i) => (p.grad = grads[i] ? ser.tensor(f32(grads[i]!), [sizes[i]]) : null));
          const before = runtime?.counts.dispatches ?? 0;
          adam.step();
          if (runtime) assert(runtime.counts.dispatches - before === dispatches[step - 1], `step ${step}: ${runtime.counts.dispatches - before} dispatches`);
          const next: State[] = [];
          for (let i = 0; i < sizes.length; i++) {
            const got = await params[i].toArray();
            const want = grads[i] ? ser.reference.adamStep(state[i].param, grads[i]!, state[i].m, state[i].v, { ...o, step: counts[i] }) : state[i];
            assertClose(got, want.param, FORWARD, `step ${step} parameter ${i}`);
            next.push({ param: got, m: want.m, v: want.v });
          }
          // The moments of a 3-element parameter are off by ~1e-5 in float32 alone ((1 − β2)·g² rounds twice).
          const moments = await adam.state();
          assert(moments.steps.join() === counts.join(), `step ${step}: step counts ${moments.steps}, expected ${counts}`);
          moments.m.forEach((m, i) => assertClose(m, next[i].m, GRADIENT, `step ${step} m of parameter ${i}`));
          moments.v.forEach((v, i) => assertClose(v, next[i].v, GRADIENT, `step ${step} v of parameter ${i}`));
          state = next;
          adam.zeroGrad();
        }
      } finally {
        adam.dispose();
        params.forEach((p) => p.dispose());
      }
    },
  },
  {
    family: 'optim',
    name: 'Adam: the parameters move into its flat vector (values kept), a second Adam takes them over, a shared or repeated parameter and a gradient of the wrong size are refused, and nothing leaks',
    async run(ser) {
      const backend = ser.engine().backend;
      const live = () => backend.counters().liveBuffers;
      const before = live();
      const sizes = [5, 1, 131];
      const values = sizes.map((n) => fresh(n));
      const params = values.map((v) => ser.tensor(f32(v), [v.length], { requiresGrad: true }));
      const first = new ser.Adam(params, { lr: 0.1 });
      const second = new ser.Adam(params, { lr: 0.1 });
      try {
        for (let i = 0; i < sizes.length; i++) assertClose(await params[i].toArray(), f32(values[i]), 0, `parameter ${i} after moving twice`);
        // Only the last Adam moves them: the first one's step says so (it had updated a copy nobody reads, in silence).
        const step = (adam: InstanceType<Ser['Adam']>) => {
          params.forEach((p) => (p.grad = ser.ones([p.size])));
          try {
            adam.step();
          } finally {
            adam.zeroGrad();
          }
        };
        await assertThrows(() => step(first), /^Adam: parameter 0 tensor\[5\] has moved into the vector of an Adam made over it later: step that one/, "the first Adam's step");
        for (let i = 0; i < sizes.length; i++) assertClose(await params[i].toArray(), f32(values[i]), 0, `parameter ${i} after the first Adam's step`);
        step(second);
        // Adam's first step moves every element by lr (the gradient's sign, here +1).
        for (let i = 0; i < sizes.length; i++) assertClose(await params[i].toArray(), f32(values[i].map((x) => x - 0.1)), FORWARD, `parameter ${i} after the second Adam's step`);
        const shared = ser.tensor(f32(fresh(7)), [7], { requiresGrad: true, name: 'w' });
        const view = ser.reshape(shared, [7, 1]);
        await assertThrows(() => new ser.Adam([shared]), /w\[7\] shares its storage/, 'an Adam over a parameter with a reshape alive');
        await assertThrows(() => new ser.Adam([params[0], params[1], params[0]]), /parameter 2 is parameter 0 again/, 'an Adam given a parameter twice');
        // A gradient of the wrong size is refused before anything moves, the step counts included.
        const counts = (await second.state()).steps.join();
        params.forEach((p) => (p.grad = ser.ones([p.size])));
        params[2].grad!.dispose();
        params[2].grad = ser.ones([7]);
        await assertThrows(() => second.step(), /parameter 2 .* was given a gradient of 7 values/, 'a gradient of 7 values for 131');
        second.zeroGrad();
        assert((await second.state()).steps.join() === counts, 'a refused step moved the step counts');
        for (let i = 0; i < sizes.length; i++) assertClose(await params[i].toArray(), f32(values[i].map((x) => x - 0.1)), FORWARD, `parameter ${i} after a refused step`);
        view.dispose();
        shared.dispose();
      } finally {
        first.dispose();
        second.dispose();
        params.forEach((p) => p.dispose());
      }
      assert(live() === before, `${live() - before} buffers outlive the parameters and both Adams`);
    },
  },
  {
    family: 'optim',
    name: "Adam refuses, as torch, hyperparameters that turn every parameter into NaN, a parameter of another backend, and a gradient disposed but left as .grad",
    async run(ser) {
      const param = () => ser.tensor(f32(fresh(3)), [3], { requiresGrad: true, name: 'p' });
      const p = param();
      for (const [config, message] of [
        [{ lr: NaN }, /^Adam: lr must be a finite number of 0 or more, got NaN$/],
        [{ lr: -1 }, /^Adam: lr must be a finite number of 0 or more, got -1$/],
        [{ beta1: 1 }, /^Adam: beta1 must be a number from 0 to less than 1, got 1$/],
        [{ beta2: -0.5 }, /^Adam: beta2 must be a number from 0 to less than 1, got -0.5$/],
        [{ eps: -1e-8 }, /^Adam: eps must be a finite number of 0 or more, got -1e-8$/],
        [{ weightDecay: Infinity }, /^Adam: weightDecay must be a finite number of 0 or more, got Infinity$/],
      ] as const) {
        await assertThrows(() => new ser.Adam([p], config), message, `Adam(${Object.entries(config).map(([k, v]) => `${k}: ${v}`)})`);
      }
      const adam = new ser.Adam([p], { lr: 0.1, eps: 0 });
      const before = await p.toArray();
      try {
        // A schedule that computes NaN: refused at the step, before the parameter moves.
        adam.lr = NaN;
        p.grad = ser.ones([3]);
        await assertThrows(() => adam.step(), /^Adam: lr must be a finite number of 0 or more, got NaN$/, 'a step with lr NaN');
        adam.lr = 0.1;
        // Disposing a gradient is not dropping it: the step read the dead tensor and said only "tensor[3] was disposed".
        p.grad.dispose();
        await assertThrows(() => adam.step(), /^Adam: the gradient of parameter 0 p\[3\] was disposed but is still its \.grad/, 'a disposed gradient');
        assertClose(await p.toArray(), before, 0, 'a refused step moved the parameter');
        adam.zeroGrad();
      } finally {
        adam.dispose();
        p.dispose();
      }
      const here = ser.engine().backend.name;
      await ser.init({ backend: here === 'cpu' ? 'webgpu' : 'cpu' });
      const foreign = param();
      await ser.init({ backend: here });
      await assertThrows(() => new ser.Adam([foreign]), new RegExp(`^Adam: parameter 0 p\\[3\\] is on \\w+, but the engine \\(init\\(\\)\\) runs on ${here}$`), 'a parameter of another backend');
      foreign.dispose();
    },
  },
];

export const optimCases: SuiteCase[] = cases.map(seededByName);
