// Waiting on dawn.node without taking a core from a CPU driver.
//
// dawn.node settles its promises (a queue's onSubmittedWorkDone, mapAsync, popErrorScope, pipelines made
// asynchronously) by polling Dawn's events from a native callback that it hands to setImmediate and that
// reschedules itself while any of them is pending: a busy loop on the main thread for as long as the device
// works. On a GPU that costs a core that nothing else needed. On a CPU driver the device is the cores: lavapipe's
// threads run the kernels beside that loop, one core short. While `waitPolitely` waits, dawn's poll runs at full
// speed for its first POLLS_AT_ONCE rounds (a short wait pays no timer), then once a millisecond; every other
// setImmediate callback runs as it would. Browsers have no setImmediate and wait as they do. The runtime waits so
// on CPU drivers, except after streams of tiny dispatches (`politeFor`).

/** Below this much wall time a dispatch (from the first dispatch after a wait to the end of the next wait), the
 * device has been running streams of tiny dispatches, for which a sleeping main thread costs more than its poll:
 * a core then idles, and every hand-off between lavapipe's threads has to wake it (the smallest GEMMs took 25-45
 * µs a dispatch with polite waits, 16-22 in the busy loop, on this 2-core machine). The runtime then waits in the
 * busy loop (`politeFor`). */
export const TINY_DISPATCH_MS = 0.1;

/** Whether to wait politely after `dispatches` dispatches that took `elapsedMs`, from the first one's recording to
 * the end of the wait for them. */
export function politeFor(elapsedMs: number, dispatches: number): boolean {
  return dispatches === 0 || elapsedMs / dispatches >= TINY_DISPATCH_MS;
}

/** Polls at full speed at the start of a wait, before they are spaced POLL_MS apart. */
const POLLS_AT_ONCE = 16;
const POLL_MS = 1;

type SetImmediate = typeof globalThis.setImmediate;

let waits = 0;
let polls = 0;
let original: SetImmediate | null = null;

/** dawn.node's poll: a native function without a name (a bound function is named "bound …"). */
const isDawnPoll = (callback: unknown): callback is () => void =>
  typeof callback === 'function' && callback.name === '' && Function.prototype.toString.call(callback) === 'function () { [native code] }';

function spacedPolls(this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate {
  // Called outside a wait too, where whoever replaced it during one put it back after (fake timers restore what
  // they found): it then spaces nothing.
  if (waits > 0 && isDawnPoll(callback) && polls++ >= POLLS_AT_ONCE) return setTimeout(callback, POLL_MS) as unknown as NodeJS.Immediate;
  return original!(callback, ...args);
}

/** `promise`, awaited with dawn.node's event polling spaced out (see the header). Waits may overlap: the
 * polling is spaced from the first one's start to the last one's end. */
export async function waitPolitely<T>(promise: Promise<T>): Promise<T> {
  if (typeof globalThis.setImmediate !== 'function') return promise;
  if (waits++ === 0) {
    // Not itself, put back so after an earlier wait: `original` is then still the real one.
    if (globalThis.setImmediate !== (spacedPolls as unknown as SetImmediate)) original = globalThis.setImmediate;
    polls = 0;
    // util.promisify(setImmediate) reads a symbol-keyed property: keep those.
    for (const key of Object.getOwnPropertySymbols(original)) (spacedPolls as unknown as Record<symbol, unknown>)[key] = (original as unknown as Record<symbol, unknown>)[key];
    globalThis.setImmediate = spacedPolls as unknown as SetImmediate;
  }
  try {
    return await promise;
  } finally {
    if (--waits === 0) {
      // Unless somebody replaced it meanwhile: theirs stays.
      if (globalThis.setImmediate === (spacedPolls as unknown as SetImmediate)) globalThis.setImmediate = original!;
    }
  }
}
