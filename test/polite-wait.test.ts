// Waiting politely on dawn.node (src/gpu/polite-wait.ts): its event polling spaced out while a wait lasts, every
// other setImmediate callback untouched, setImmediate itself back afterwards; and the runtime waiting so on a CPU
// driver, except after streams of tiny dispatches.

import { afterEach, describe, expect, it, vi } from 'vitest';
import * as ser from '../src/index.js';
import { politeFor, TINY_DISPATCH_MS, waitPolitely } from '../src/gpu/polite-wait.js';
import { affine } from '../src/kernels/elementwise.js';

// A nameless native function, as dawn.node's poll is (calling it does nothing).
const nativePoll = Function.prototype as () => void;

/** Resolves once `n` rounds of setImmediate have passed (a wait that lasts a while, with no timers of its own). */
const rounds = (n: number) => new Promise<void>((resolve) => (n === 0 ? resolve() : setImmediate(() => void rounds(n - 1).then(resolve))));

afterEach(() => vi.restoreAllMocks());

describe('polite waits', () => {
  it("spaces out dawn.node's poll after its first rounds, and nothing else, while a wait lasts", async () => {
    const original = globalThis.setImmediate;
    const timeout = vi.spyOn(globalThis, 'setTimeout');
    const ran: string[] = [];
    await waitPolitely(
      (async () => {
        await null; // past the argument's evaluation: the wait has begun
        expect(globalThis.setImmediate).not.toBe(original);
        // A JavaScript callback, and a bound one (native, but named "bound …"), run as setImmediate runs them, and
        // do not count among the polls.
        for (let i = 0; i < 20; i++) setImmediate(() => ran.push('callback'));
        setImmediate(function named(this: unknown) {
          ran.push('bound');
        }.bind(null));
        for (let i = 0; i < 40; i++) setImmediate(nativePoll);
        await rounds(3);
      })(),
    );
    expect(ran).toEqual([...Array(20).fill('callback'), 'bound']);
    // 16 polls at once, the other 24 a millisecond apart; the callbacks' setImmediate calls took no timer.
    expect(timeout.mock.calls.filter(([fn]) => fn === nativePoll).map(([, ms]) => ms)).toEqual(Array(24).fill(1));
    expect(timeout.mock.calls.filter(([fn]) => fn !== nativePoll)).toEqual([]);
    expect(globalThis.setImmediate).toBe(original);
  });

  it('spaces the polls from the first of overlapping waits to the last, rethrows, and puts setImmediate back', async () => {
    const original = globalThis.setImmediate;
    let release!: () => void;
    const first = waitPolitely(new Promise<void>((resolve) => (release = resolve)));
    const second = waitPolitely(Promise.reject(new Error('device lost')));
    await expect(second).rejects.toThrow('device lost');
    expect(globalThis.setImmediate).not.toBe(original); // the first still waits
    release();
    await first;
    expect(globalThis.setImmediate).toBe(original);
  });

  it('leaves a setImmediate that somebody installed during the wait', async () => {
    const original = globalThis.setImmediate;
    const theirs = ((fn: () => void) => original(fn)) as unknown as typeof setImmediate;
    await waitPolitely(
      (async () => {
        await null;
        globalThis.setImmediate = theirs;
      })(),
    );
    expect(globalThis.setImmediate).toBe(theirs);
    globalThis.setImmediate = original;
  });

  it('keeps working where somebody who installed theirs during a wait puts back what they found after it', async () => {
    const original = globalThis.setImmediate;
    let found!: typeof setImmediate;
    await waitPolitely(
      (async () => {
        await null;
        found = globalThis.setImmediate; // the polite one, as fake timers save it
        globalThis.setImmediate = ((fn: () => void) => original(fn)) as unknown as typeof setImmediate;
      })(),
    );
    globalThis.setImmediate = found;
    try {
      // Outside a wait it runs callbacks as setImmediate does, and a later wait neither recurses nor spaces them.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await waitPolitely(rounds(3));
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      globalThis.setImmediate = original;
    }
  });

  it('is not for streams of tiny dispatches: below TINY_DISPATCH_MS a dispatch between waits', () => {
    expect(politeFor(1000, 0)).toBe(true); // nothing ran: a wait for a copy or a read-back
    expect(politeFor(60, 57)).toBe(true); // a training step
    expect(politeFor(100, 4096)).toBe(false); // the smallest GEMM, again and again
    expect(politeFor(TINY_DISPATCH_MS * 10, 10)).toBe(true);
    expect(politeFor(TINY_DISPATCH_MS * 10, 11)).toBe(false);
  });

  /** The runtime told to wait politely, on a clock the test moves (`clock.now`), with its waits recording whether
   * they were polite (`polite`); `dispatch(n)` records n tiny dispatches. `done` puts the runtime back. */
  async function watchedWaits() {
    const { runtime, backend } = await ser.init({ politeWaits: true });
    const rt = runtime!;
    const original = globalThis.setImmediate;
    const polite: boolean[] = [];
    vi.spyOn(rt.device.queue, 'onSubmittedWorkDone').mockImplementation(
      () => new Promise((resolve) => queueMicrotask(() => resolve(void polite.push(globalThis.setImmediate !== original)))),
    );
    const clock = { now: 1e6 };
    vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
    const x = backend.upload(new Float32Array(4));
    const dispatch = (n: number) => {
      for (let i = 0; i < n; i++) backend.release(affine(backend, x, 2, 1));
    };
    const done = async () => {
      backend.release(x);
      await ser.init({ politeWaits: rt.profile.kind === 'cpu' });
    };
    return { rt, polite, clock, dispatch, done };
  }

  it('waits busily after a stream of tiny dispatches, and politely again after long ones', async () => {
    const { rt, polite, clock, dispatch, done } = await watchedWaits();
    await rt.sync(); // a start: whatever came before
    dispatch(100);
    clock.now += 100 * TINY_DISPATCH_MS * 0.5;
    await rt.sync(); // polite still: the stream shows only when this wait ends
    dispatch(100);
    clock.now += 100 * TINY_DISPATCH_MS * 0.5;
    await rt.sync(); // busy
    dispatch(2);
    clock.now += 50;
    await rt.sync(); // busy: decided by the stream before it
    await rt.sync(); // polite again
    await done();
    expect(polite).toEqual([true, true, false, false, true]);
  });

  it("times a stream from its first dispatch: the host's time before it is not the dispatches'", async () => {
    const { rt, polite, clock, dispatch, done } = await watchedWaits();
    await rt.sync();
    clock.now += 1000; // the host busy with something else (another engine's work, in the benchmark)
    dispatch(100);
    clock.now += 100 * TINY_DISPATCH_MS * 0.5;
    await rt.sync(); // polite: decided before the stream
    dispatch(1);
    clock.now += 1; // a long one
    await rt.sync(); // busy: 100 dispatches in 5 ms, however long the host had been away
    await rt.sync(); // polite again (and left so for the next test)
    await done();
    expect(polite).toEqual([true, true, false, true]);
  });

  it('is how the runtime waits on a CPU driver, and not on a GPU, unless told otherwise', async () => {
    const { runtime } = await ser.init();
    expect(runtime!.politeWaits).toBe(runtime!.profile.kind === 'cpu');
    // While a sync waits on a CPU driver, setImmediate is the spacing one.
    const original = globalThis.setImmediate;
    const seen: boolean[] = [];
    const spy = vi.spyOn(runtime!.device.queue, 'onSubmittedWorkDone').mockImplementation(
      () => new Promise((resolve) => queueMicrotask(() => resolve(void seen.push(globalThis.setImmediate !== original)))),
    );
    await runtime!.sync();
    await ser.init({ politeWaits: !runtime!.politeWaits });
    await runtime!.sync();
    spy.mockRestore();
    await ser.init({ politeWaits: runtime!.profile.kind === 'cpu' });
    expect(seen).toEqual(runtime!.profile.kind === 'cpu' ? [true, false] : [false, true]);
  });
});
