import { expect, it } from 'vitest';
import * as ser from '../src/index.js';

/** The engine's count of live GPU buffers, read when called. */
async function liveBuffers(): Promise<() => number> {
  const engine = await ser.init();
  return () => engine.backend.counters().liveBuffers;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

// A training loop must not grow device memory: after warm-up, 10,000 forward/backward/update steps of a
// small conv net leave the pool's live and allocated buffer counts and bytes where they were.
it('10,000 training steps of a small conv net keep live GPU buffers and bytes flat', async () => {
  const engine = await ser.init();
  const random = ser.seededRandom(5);
  const conv = new ser.Conv1d(1, 4, 5, { stride: 2, padding: 2 }, random);
  const norm = new ser.BatchNorm1d(4);
  const head = new ser.Linear(4, 3, random);
  const params = [...conv.parameters(), ...norm.parameters(), ...head.parameters()];
  const adam = new ser.Adam(params, { lr: 1e-3 });
  const x = ser.tensor(Float32Array.from({ length: 2 * 33 }, (_, i) => Math.sin(i)), [2, 1, 33]).keep();
  const targets = new Int32Array([0, 2]);
  const step = () => {
    const loss = ser.tidy(() => {
      const h = ser.maxPool1d(ser.relu(norm.forward(conv.forward(x))), { kernelSize: 2 });
      return ser.crossEntropy(head.forward(ser.mean(h, 2)), targets);
    });
    loss.backwardSync();
    adam.step();
    adam.zeroGrad();
    loss.dispose();
  };
  for (let i = 0; i < 50; i++) step();
  await engine.runtime!.sync();
  const before = engine.backend.counters();
  for (let i = 0; i < 10_000; i++) {
    step();
    if (i % 500 === 499) await engine.runtime!.sync();
  }
  await engine.runtime!.sync();
  const after = engine.backend.counters();
  expect(after.liveBuffers).toBe(before.liveBuffers);
  expect(after.liveBytes).toBe(before.liveBytes);
  expect(after.allocatedBuffers).toBe(before.allocatedBuffers);
  expect(after.allocatedBytes).toBe(before.allocatedBytes);
}, 600_000);

// Tensors made inside a scope (a tidy, a backward pass) join the finalizer only if they leave it alive.
it('backward inside a tidy keeps the leaves\' gradients and frees the pass\'s intermediates', async () => {
  const live = await liveBuffers();
  const w = ser.tensor(Float32Array.from({ length: 12 }, (_, i) => i - 5), [3, 4], { requiresGrad: true });
  const before = live();
  ser.tidy(() => ser.sum(ser.square(ser.relu(w))).backwardSync());
  expect(live()).toBe(before + 1); // the gradient alone
  expect([...(await w.grad!.toArray())]).toEqual(Array.from({ length: 12 }, (_, i) => 2 * Math.max(0, i - 5)));
  w.dispose();
  w.grad!.dispose();
  expect(live()).toBe(before - 1);
});

/** Live GPU buffers, and a full collection with the finalizers it queues run; what earlier tests forgot is collected
 * first, so that a test's count starts settled. */
async function collector(): Promise<{ live: () => number; collect: () => Promise<void> }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run under node --expose-gc (vitest.config.ts passes it)');
  const live = await liveBuffers();
  const collect = async () => {
    gc();
    await sleep(10); // finalizers run in a task of their own
  };
  for (let i = 0, last = -1; i < 50 && live() !== last; i++) {
    last = live();
    await collect();
  }
  return { live, collect };
}

it('forgotten tensors are released once collected: made outside a tidy, returned from one, a forgotten graph, one whose backward ran, and a failed tidy\'s', async () => {
  const { live, collect } = await collector();
  const before = live();
  // In a function of its own, so that no reference outlives it on the stack.
  (() => {
    const x = ser.tensor(new Float32Array(64).fill(1), [64], { requiresGrad: true });
    ser.tidy(() => ser.relu(ser.tensor(new Float32Array(64), [64])));
    ser.tidy(() => ser.sum(ser.square(ser.relu(x)))); // the loss, and its graph's intermediates adopted by it
    ser.tidy(() => ser.sum(ser.relu(x))).backwardSync(); // a loss whose backward freed its graph, and x's gradient
    expect(() =>
      ser.tidy(() => {
        ser.relu(ser.tensor(new Float32Array(64), [64]));
        throw new Error('a failing tidy');
      }),
    ).toThrow('a failing tidy');
  })();
  expect(live()).toBeGreaterThan(before + 5);
  for (let i = 0; i < 50 && live() > before; i++) await collect();
  expect(live()).toBeLessThanOrEqual(before); // less where more of the earlier tests' garbage went meanwhile
});

it('a tidy that returns two graphs sharing intermediates: dropping one (disposed or collected) leaves the other differentiable, and the last frees them', async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run under node --expose-gc (vitest.config.ts passes it)');
  const live = await liveBuffers();
  const x = ser.tensor([1, -2, 3], [3], { requiresGrad: true });
  const both = () =>
    ser.tidy(() => {
      const h = ser.relu(x);
      return { g1: ser.sum(h), g2: ser.sum(ser.mul(h, h)) };
    });
  // Disposed: g1 went first among the returned graphs, and had taken every intermediate with it.
  const before = live();
  const first = both();
  first.g1.dispose();
  first.g2.backwardSync();
  expect([...(await x.grad!.toArray())]).toEqual([2, 0, 6]);
  first.g2.dispose();
  x.grad!.dispose();
  x.grad = null;
  expect(live()).toBe(before);
  // Collected: the same with g1 forgotten, as a destructuring `const { g2 } = ...` leaves it.
  const { g2 } = (() => both())();
  for (let i = 0; i < 5; i++) {
    gc();
    await sleep(10);
  }
  g2.backwardSync();
  expect([...(await x.grad!.toArray())]).toEqual([2, 0, 6]);
});

it('overlapping tidyAsync calls keep each one\'s result, whichever scope caught it', async () => {
  const live = await liveBuffers();
  const x = ser.tensor([1, -2, 3], [3]);
  const before = live();
  // Each creates its result after an await, when the other call's scope may be the innermost.
  const later = (ms: number, k: number) =>
    ser.tidyAsync(async () => {
      await sleep(ms);
      return ser.mul(ser.relu(x), ser.tensor([k, k, k], [3]));
    });
  const [a, b] = await Promise.all([later(10, 2), later(30, 3)]);
  expect([...(await a.toArray())]).toEqual([2, 0, 6]);
  expect([...(await b.toArray())]).toEqual([3, 0, 9]);
  a.dispose();
  b.dispose();
  expect(live()).toBe(before); // the intermediates went with the scopes that caught them
});

// Scopes are one stack, not one per async task, so a tidyAsync's scope catches what other code makes while it awaits,
// and overlapping calls catch each other's: no rule can then keep a call from disposing another's tensor (tfjs refuses
// async functions in its tidy). The mistake is made loud instead: a tensor a tidyAsync freed says so when used, and a
// call whose result another call disposed fails when it ends. Both had been a bare "was disposed", or no error at all.
const tidyAsyncFreed = /was disposed .*; the tidyAsync call whose scope caught it freed it .*Such code must keep\(\) what it makes and dispose it itself, or the calls must not overlap/;

it('an intermediate that another tidyAsync call\'s scope caught and disposed says so when its maker uses it', async () => {
  const live = await liveBuffers();
  const x = ser.tensor([1, -2, 3], [3]);
  const before = live();
  // The first call makes h after its first await, while the second call's scope is the innermost; the second ends
  // before the first uses h again.
  const first = ser.tidyAsync(async () => {
    await sleep(10);
    const h = ser.relu(x);
    await sleep(30);
    return ser.mul(h, h);
  });
  const second = ser.tidyAsync(async () => {
    await sleep(20);
    return ser.neg(x);
  });
  await expect(first).rejects.toThrow(new RegExp(`^mul: tensor\\[3\\] ${tidyAsyncFreed.source}`));
  const result = await second;
  expect([...(await result.toArray())]).toEqual([-1, 2, -3]);
  result.dispose();
  expect(live()).toBe(before);
});

it('a tidyAsync whose result another call\'s scope disposed fails when it ends, saying so, and frees the rest of its scope', async () => {
  const live = await liveBuffers();
  const x = ser.tensor([1, -2, 3], [3]);
  const before = live();
  const first = ser.tidyAsync(async () => {
    const scale = ser.tensor([2, 2, 2], [3]); // its own: made before its first await
    await sleep(10);
    const result = ser.mul(x, scale);
    await sleep(30);
    return { result, scale };
  });
  const second = ser.tidyAsync(async () => {
    await sleep(20);
    return ser.neg(x);
  });
  await expect(first).rejects.toThrow(/^tidyAsync: fn returned tensor\[3\], which was disposed before fn returned; the tidyAsync call whose scope caught it freed it/);
  (await second).dispose();
  expect(live()).toBe(before);
});

it('a tidy\'s result that a tidyAsync caught while it awaited says so when used; kept, it outlives the call', async () => {
  const live = await liveBuffers();
  const x = ser.tensor([1, -2, 3], [3]);
  const before = live();
  const pending = ser.tidyAsync(async () => {
    await sleep(10);
    return ser.relu(x);
  });
  // Other code, while the tidyAsync awaits.
  const caught = ser.tidy(() => ser.mul(x, x));
  const kept = ser.tidy(() => ser.mul(x, x)).keep();
  (await pending).dispose();
  await expect(caught.toArray()).rejects.toThrow(tidyAsyncFreed);
  expect(() => ser.sum(caught)).toThrow(tidyAsyncFreed);
  expect([...(await kept.toArray())]).toEqual([1, 4, 9]);
  kept.dispose();
  expect(live()).toBe(before);
});

it('nested tidyAsync calls, the inner awaited inside the outer, free exactly their own', async () => {
  const live = await liveBuffers();
  const x = ser.tensor([1, -2, 3], [3]);
  const before = live();
  const out = await ser.tidyAsync(async () => {
    const inner = await ser.tidyAsync(async () => {
      await sleep(5);
      return ser.relu(ser.mul(x, ser.tensor([2, 2, 2], [3])));
    });
    expect(live()).toBe(before + 1); // the inner call's result alone
    await sleep(5);
    return ser.add(inner, ser.relu(x));
  });
  expect([...(await out.toArray())]).toEqual([3, 0, 9]);
  out.dispose();
  expect(live()).toBe(before);
});

// A tidy takes its own scope off the stack, which need not be the innermost when it ends: its fn may have started
// a tidyAsync that still waits. Popping the innermost instead took the tidyAsync's scope and left the tidy's, where
// tensors made outside any scope meanwhile sat until the tidyAsync's end dropped it (its own scope gone, it removed
// the innermost), neither disposed nor known to the finalizer: never freed.
it('a tidy whose fn starts a tidyAsync without awaiting it leaves no scope behind: tensors made meanwhile are freed', async () => {
  const { live, collect } = await collector();
  const before = live();
  let pending: Promise<ser.Tensor> | undefined;
  ser.tidy(() => {
    pending = ser.tidyAsync(async () => {
      await sleep(20);
      return ser.tensor([1, 2, 3], [3]);
    });
  });
  // Made outside any tidy while the tidyAsync waits (its scope catches it, as documented), and forgotten.
  (() => ser.tensor(new Float32Array(64), [64]))();
  const result = await pending!;
  expect([...(await result.toArray())]).toEqual([1, 2, 3]);
  result.dispose();
  for (let i = 0; i < 50 && live() > before; i++) await collect();
  expect(live()).toBeLessThanOrEqual(before);
});

// A long-lived embedder (a Node service) gives back what the pool keeps for reuse, e.g. after one large batch:
// the pool never shrinks by itself, since a training loop reuses the same buffers every step.
it('engine().backend.trim() destroys the pooled buffers no tensor holds; live tensors keep theirs; the CPU backend has none', async () => {
  const engine = await ser.init();
  const kept = ser.tensor(new Float32Array(1000).fill(2), [1000]);
  const input = ser.tensor(new Float32Array(1 << 20).fill(-1), [1 << 20]);
  const large = ser.relu(input);
  expect((await large.toArray())[0]).toBe(0);
  input.dispose();
  // Released after the last submit: pending until the next one, which trim() makes.
  large.dispose();
  const before = engine.backend.counters();
  expect(before.allocatedBytes - before.liveBytes).toBeGreaterThanOrEqual(2 * 4 * (1 << 20));
  engine.backend.trim();
  const after = engine.backend.counters();
  expect(after.liveBytes).toBe(before.liveBytes);
  expect(after.allocatedBytes).toBe(after.liveBytes);
  expect(after.allocatedBuffers).toBe(after.liveBuffers);
  expect([...(await kept.toArray())].every((v) => v === 2)).toBe(true);
  // The pool fills again from fresh buffers.
  const again = ser.relu(kept);
  expect((await again.toArray())[999]).toBe(2);
  again.dispose();
  kept.dispose();
  const cpu = await ser.init({ backend: 'cpu' });
  expect(() => cpu.backend.trim()).not.toThrow();
  await ser.init();
});
