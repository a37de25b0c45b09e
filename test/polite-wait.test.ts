// Waiting politely on dawn.node (src/gpu/polite-wait.ts): its event polling spaced out while a wait lasts, every
// other setImmediate callback untouched, setImmediate itself back afterwards; and the runtime waiting so on a CPU
// driver.

import { afterEach, describe, expect, it, vi } from 'vitest';
import * as ser from '../src/index.js';
import { waitPolitely } from '../src/gpu/polite-wait.js';

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
