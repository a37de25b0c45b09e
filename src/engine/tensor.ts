// Tensor and tape. A Tensor is a shape over backend storage (a pooled GPU buffer, or a Float32Array on the CPU
// backend). An op that produces a Tensor from inputs that need gradients records, right beside its forward
// computation, a closure that maps the output's gradient to its inputs' gradients (see ops.ts).
// `backward()` sorts the graph topologically and runs those closures in reverse.
//
// Memory: storage is reference-counted (reshape shares it). `dispose()` drops a tensor's reference;
// `tidy(fn)` disposes every tensor created inside fn except what fn returns; a FinalizationRegistry returns
// the storage of tensors that were simply forgotten, so nothing leaks for long even without tidy. A tensor made
// inside a scope (a tidy, a backward pass) joins the registry only if it leaves the scope alive, and not even then
// when a returned graph adopts it (its root's `Claim` covers it): registering costs a weak cell and a token entry
// (~0.3 µs with unregistering), and most tensors of a training step are intermediates that their scope disposes
// or their graph frees (registering every tensor was 7-9 % of a training step's JavaScript).

import type { Backend, Storage } from '../kernels/backend.js';
import { accumulate, affine } from '../kernels/elementwise.js';

export class ShapeError extends Error {}

/** Shared, reference-counted storage; a view's block holds a reference to the block whose memory it shares. */
class Block {
  refs = 1;
  constructor(
    readonly storage: Storage,
    readonly backend: Backend,
    private base: Block | null = null,
  ) {
    if (base) base.refs++;
  }
  unref() {
    if (--this.refs > 0) return;
    if (this.base) this.base.unref();
    else this.backend.release(this.storage);
  }
}

/** A tensor's hold on memory, which the finalizer releases if the tensor is forgotten: its block, and the claims of
 * the intermediates its graph adopted (recursively: a tidy's graph may adopt another's). It refers to no tensor, so
 * the finalizer, which keeps it, keeps no tensor alive; an adopted intermediate needs no registration of its own. */
class Claim {
  owned: Claim[] = [];
  constructor(public block: Block | null) {}
  release(): void {
    this.block?.unref();
    this.block = null;
    for (const claim of this.owned) claim.release();
    this.owned = [];
  }
}

/** The intermediates that several returned graphs need (a tidy that returns more than one): each graph holds
 * the claim once, and its memory goes when the last of them lets go (backward, dispose or the finalizer). */
class SharedClaim extends Claim {
  constructor(
    private holders: number,
    claims: Claim[],
  ) {
    super(null);
    this.owned = claims;
  }
  override release(): void {
    if (--this.holders > 0) return;
    super.release();
  }
}

const finalizer = new FinalizationRegistry<Claim>((claim) => claim.release());

type BackwardFn = (grad: Tensor) => (Tensor | null)[];

let gradEnabled = true;
const scopes: Set<Tensor>[] = [];
/** The tensors a tidyAsync call freed as its own, which may have been other code's (see tidyAsync): using one
 * afterwards says why it is gone rather than only that it is. */
const freedByTidyAsync = new WeakSet<Tensor>();

/** What a disposed tensor's error adds where a tidyAsync call freed it. */
function whyDisposed(t: Tensor): string {
  if (!freedByTidyAsync.has(t)) return '';
  return (
    '; the tidyAsync call whose scope caught it freed it (when the call ended, or with the graph it returned). Scopes are one stack, not one per ' +
    'async task: while a tidyAsync awaits, its scope catches the tensors that other code makes outside a tidy or gets from one (another ' +
    "tidyAsync call's code after its own await, a timer, an event handler). Such code must keep() what it makes and dispose it itself, " +
    'or the calls must not overlap (await one tidyAsync before starting another)'
  );
}

/** What using a disposed tensor says (ops prefix their name: src/engine/checks.ts). */
export function disposedMessage(t: Tensor): string {
  return `${t.describe()} was disposed and cannot be used${whyDisposed(t)}`;
}

export class Tensor {
  readonly shape: number[];
  requiresGrad: boolean;
  /** Gradient accumulated by `backward()`, kept for leaves (tensors created by the user, parameters). */
  grad: Tensor | null = null;
  /** A name used in error messages (parameters get their state-dict name). */
  name: string | undefined;
  private claim: Claim;
  private parents: Tensor[] = [];
  private backwardFn: BackwardFn | null = null;
  /** Tensors of a `tidy` scope that this tensor's graph still needs: freed with the graph. */
  private graphOwned: Tensor[] = [];
  /** Set when a backward() ran through this (non-leaf) tensor and freed its graph: a second one is an error. */
  private graphSpent = false;
  /** Whether the finalizer knows this tensor (see the header). */
  private registered = false;

  constructor(storage: Storage, shape: number[], backend: Backend, requiresGrad = false, share?: Tensor) {
    this.shape = shape;
    this.requiresGrad = requiresGrad;
    let block: Block;
    if (share) {
      block = share.liveBlock();
      block.refs++;
    } else {
      block = new Block(storage, backend);
    }
    this.claim = new Claim(block);
    const scope = scopes[scopes.length - 1];
    if (scope) scope.add(this);
    else this.register();
  }

  get storage(): Storage {
    return this.liveBlock().storage;
  }

  get backend(): Backend {
    return this.liveBlock().backend;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get isLeaf(): boolean {
    return this.backwardFn === null;
  }

  /** Whether another tensor holds the same storage (reshape views, shared gradients). */
  get sharesStorage(): boolean {
    return this.liveBlock().refs > 1;
  }

  get disposed(): boolean {
    return this.claim.block === null;
  }

  describe(): string {
    return `${this.name ?? 'tensor'}[${this.shape.join(',')}]`;
  }

  async toArray(): Promise<Float32Array> {
    const data = await this.backend.download(this.storage);
    return data.length === this.size ? data : data.subarray(0, this.size);
  }

  /** Releases this tensor's reference to its storage; using it afterwards throws. */
  dispose(): void {
    const block = this.claim.block;
    if (!block) return;
    if (this.registered) finalizer.unregister(this);
    block.unref();
    this.claim.block = null;
    this.releaseGraph();
  }

  /** Drops the tape behind this tensor (as torch frees the graph after backward) and what it kept alive. */
  releaseGraph(): void {
    this.parents = [];
    this.backwardFn = null;
    for (const t of this.graphOwned) t.dispose();
    this.graphOwned = [];
    // The adopted tensors' claims are spent by their dispose above; a shared claim counts this graph out.
    for (const claim of this.claim.owned) claim.release();
    this.claim.owned = [];
  }

  /** Makes this tensor's graph own `tensors` (called by tidy for the intermediates a returned graph needs). */
  adopt(tensors: Tensor[]): void {
    this.graphOwned.push(...tensors);
    for (const t of tensors) this.claim.owned.push(t.claim);
  }

  /** Makes several graphs own `tensors` together (a tidy that returns more than one graph, which may share
   * them): they are freed when the last of those graphs is spent, disposed or forgotten, so that dropping one
   * result cannot free what another still needs for backward. */
  static adoptTogether(roots: Tensor[], tensors: Tensor[]): void {
    const shared = new SharedClaim(roots.length, tensors.map((t) => t.claim));
    for (const root of roots) root.claim.owned.push(shared);
  }

  /** The same values, cut from the tape (the graph behind this tensor can then be freed). */
  detach(): Tensor {
    return new Tensor(this.storage, [...this.shape], this.backend, false, this);
  }

  /** Makes this tensor a view of `base`'s memory from element `offset` on, where its values must already be,
   * and releases its own storage: the optimiser keeps all parameters in one flat vector this way, updated in
   * place. Refused while another tensor shares this one's storage (it would keep the old values). */
  rebase(base: Tensor, offset: number): void {
    const block = this.liveBlock();
    if (block.refs > 1) throw new Error(`${this.describe()} shares its storage with another tensor (a reshape of it?): it cannot move into ${base.describe()}`);
    const baseBlock = base.liveBlock();
    const view = new Block(this.backend.view(baseBlock.storage, offset, this.size), this.backend, baseBlock);
    block.unref();
    this.claim.block = view;
  }

  /** Removes the tensor from the enclosing `tidy` scopes, so it outlives them. */
  keep(): this {
    for (const scope of scopes) scope.delete(this);
    this.register();
    return this;
  }

  /** @internal Hands the tensor to the finalizer, which releases its storage if it is forgotten (not disposed):
   * when it is made outside any scope, or leaves one alive (`keep`, `tidy`, `backward`). */
  register(): void {
    if (this.registered || !this.claim.block) return;
    finalizer.register(this, this.claim, this);
    this.registered = true;
  }

  /** Records how to send this tensor's gradient back to `parents` (called by ops). */
  setGradFn(parents: Tensor[], fn: BackwardFn): this {
    if (gradEnabled && parents.some((p) => p.requiresGrad)) {
      this.requiresGrad = true;
      this.parents = parents;
      this.backwardFn = fn;
    }
    return this;
  }

  /** Back-propagates from this tensor. `grad` defaults to ones (this must then be a scalar, as in torch). */
  async backward(grad?: Tensor): Promise<void> {
    this.backwardSync(grad);
    this.backend.flush();
  }

  backwardSync(grad?: Tensor): void {
    if (this.disposed) throw new Error(`backward(): ${disposedMessage(this)}`);
    if (!this.requiresGrad) throw new Error(`${this.describe()} does not require grad: nothing to differentiate`);
    if (!grad && this.size !== 1) {
      throw new ShapeError(`backward() without a gradient needs a scalar, but ${this.describe()} has ${this.size} elements`);
    }
    if (grad) checkSeed(this, grad);
    const order = topologicalOrder(this);
    // As torch ("Trying to backward through the graph a second time"): the first backward() freed the graph, so
    // a second one from the same tensor, or through a tensor whose graph it freed, would silently stop there.
    // There is no retain_graph: run the forward pass again.
    // Disposing a gradient is not dropping it: adding to it said only "tensor[3] was disposed", halfway through the pass.
    const deadGrad = order.find((node) => node.grad?.disposed);
    if (deadGrad) throw new Error(`backward(): the gradient of ${deadGrad.describe()} was disposed but is still its .grad: set .grad = null (an optimiser's zeroGrad() does) to drop it`);
    const spent = order.find((node) => node.graphSpent);
    if (spent) {
      throw new Error(
        `backward(): the graph behind ${spent.describe()} was already used by an earlier backward() and has been freed; run the forward pass again to differentiate again`,
      );
    }
    const grads = new Map<Tensor, Tensor>();
    // The pass is a scope of its own, so that its intermediates never join the finalizer. What is left of them
    // when it ends (after an error, say) is disposed, except the leaves' gradients, which outlive it and any
    // enclosing tidy, as the leaves do.
    const scope = new Set<Tensor>();
    scopes.push(scope);
    try {
      this.backwardInto(order, grads, grad);
    } finally {
      scopes.pop();
      const leafGrads = new Set(order.map((node) => node.grad));
      for (const t of scope) {
        if (leafGrads.has(t)) t.register();
        else t.dispose();
      }
    }
    // The graph is spent: free its intermediates now rather than when the garbage collector notices.
    for (const node of order) {
      if (!node.isLeaf) node.graphSpent = true;
      node.releaseGraph();
    }
  }

  private backwardInto(order: Tensor[], grads: Map<Tensor, Tensor>, grad?: Tensor): void {
    // The seed of ones is uploaded, not filled by a kernel: a dispatch less per training step.
    const seed = grad ?? new Tensor(this.backend.upload(new Float32Array([1]), 'backward seed', true), [...this.shape], this.backend);
    grads.set(this, seed === grad ? reshapeShared(grad, this.shape) : seed);
    withoutGrad(() => {
      for (const node of order) {
        const g = grads.get(node);
        if (!g) continue;
        grads.delete(node);
        // A disposed tensor has lost its tape: going on would silently cut its branch out of the gradient.
        if (node.disposed) throw new Error(`backward(): ${node.describe()} was disposed before backward() reached it; keep it (or call backward inside the same tidy) until the gradient has been computed${whyDisposed(node)}`);
        if (node.isLeaf) {
          accumulateLeafGrad(node, g);
          continue;
        }
        const parentGrads = node.backwardFn!(g);
        g.dispose();
        node.parents.forEach((parent, i) => {
          const pg = parentGrads[i];
          if (!pg) return;
          if (!parent.requiresGrad) return pg.dispose();
          const existing = grads.get(parent);
          grads.set(parent, existing ? sum(existing, pg) : pg);
        });
      }
    });
  }

  private liveBlock(): Block {
    const block = this.claim.block;
    if (!block) throw new Error(disposedMessage(this));
    return block;
  }
}

/** The gradient given to backward(): its shape exactly, as torch ("Mismatch in shape"), since a [3,2] gradient for a
 * [2,3] output was read in the output's order, silently; alive, and on the output's backend (another failed deep in
 * the first backward kernel, naming neither). */
function checkSeed(output: Tensor, grad: Tensor): void {
  if (grad.disposed) throw new Error(`backward(): the gradient ${disposedMessage(grad)}`);
  if (grad.shape.length !== output.shape.length || grad.shape.some((d, i) => d !== output.shape[i])) {
    throw new ShapeError(`backward(): gradient ${grad.describe()} does not match the shape of ${output.describe()}`);
  }
  if (grad.backend !== output.backend) {
    throw new Error(`backward(): gradient ${grad.describe()} is on ${grad.backend.name} but ${output.describe()} is on ${output.backend.name}`);
  }
}

function accumulateLeafGrad(leaf: Tensor, g: Tensor): void {
  const shaped = reshapeShared(g, leaf.shape);
  g.dispose();
  leaf.grad = leaf.grad ? sum(leaf.grad, shaped) : shaped;
}

/** a + b, consuming both: in place into whichever owns its storage (gradients may be views of others'), and
 * into a fresh copy only when both are views. */
function sum(a: Tensor, b: Tensor): Tensor {
  if (a.sharesStorage && !b.sharesStorage) {
    accumulate(b.backend, b.storage, a.storage);
    a.dispose();
    if (b.shape.every((d, i) => d === a.shape[i])) return b;
    const view = reshapeShared(b, a.shape);
    b.dispose();
    return view;
  }
  let out = a;
  if (a.sharesStorage) {
    out = new Tensor(affine(a.backend, a.storage, 1, 0), [...a.shape], a.backend);
    a.dispose();
  }
  accumulate(out.backend, out.storage, b.storage);
  b.dispose();
  return out;
}

function reshapeShared(t: Tensor, shape: number[]): Tensor {
  return new Tensor(t.storage, [...shape], t.backend, false, t);
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: a deep graph (thousands of ops) must not overflow the stack.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [node, expanded] = stack.pop()!;
    if (expanded) {
      order.push(node);
      continue;
    }
    if (seen.has(node)) continue;
    seen.add(node);
    stack.push([node, true]);
    for (const p of (node as unknown as { parents: Tensor[] }).parents) if (!seen.has(p) && p.requiresGrad) stack.push([p, false]);
  }
  return order.reverse();
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** An `async` fn given to tidy or noGrad, which run it to its first await only: refused before it runs. A promise
 * from a plain fn is fine (`tidy(() => y.toArray())` records the read before it returns). */
function refuseAsync(fn: unknown, what: string): void {
  if (Object.prototype.toString.call(fn) === '[object AsyncFunction]') throw new Error(what);
}

/** Runs fn without recording the tape (inference, optimiser updates). */
export function withoutGrad<T>(fn: () => T): T {
  refuseAsync(fn, "noGrad: fn is an async function, and the tape would be recorded again after its first await (the flag is global, as tidy's scopes): run noGrad around the synchronous part (noGrad(() => model.forward(x))) and await outside it");
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

export const noGrad = withoutGrad;

/** Disposes every tensor created inside fn, except the tensors it returns (alone, in an array or an object). */
export function tidy<T>(fn: () => T): T {
  // It freed the tensors made before the first await while fn still used them ("x was disposed"), and caught none after.
  refuseAsync(fn, 'tidy: fn is an async function, whose tensors made before its first await would be freed while it still uses them: use tidyAsync');
  const outer = scopes[scopes.length - 1] ?? null;
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    abandonScope(scope);
    throw error;
  } finally {
    // Its own scope, which need not be the innermost: fn may have started a tidyAsync that still waits.
    scopes.splice(scopes.lastIndexOf(scope), 1);
  }
  closeScope(scope, tensorsIn(result), outer);
  return result;
}

/** After an exception in a scope, its tensors go to the finalizer, as if made outside it: some may be held
 * elsewhere by then, and the rest are freed once forgotten. */
function abandonScope(scope: Set<Tensor>): void {
  for (const t of scope) t.register();
}

/** Disposes a scope's tensors except the `kept` ones (the result's); those a returned graph still needs for backward are handed
 * to that graph, which frees them once backward has run (or the returned tensor is disposed). */
function closeScope(scope: Set<Tensor>, kept: Set<Tensor>, outer: Set<Tensor> | null): void {
  const garbage: Tensor[] = [];
  for (const t of scope) {
    if (!kept.has(t)) garbage.push(t);
    else if (outer) outer.add(t);
    else t.register();
  }
  const graphRoots = [...kept].filter((t) => !t.isLeaf);
  // Adopted, they are freed with the graph, or by the root's claim if the graph is forgotten; with several
  // returned graphs, by the last of them.
  if (graphRoots.length === 1) graphRoots[0].adopt(garbage);
  else if (graphRoots.length > 1) Tensor.adoptTogether(graphRoots, garbage);
  else for (const t of garbage) t.dispose();
}

/**
 * tidy for async work: fn may await (reads, backward). When the call ends, it disposes what its scope caught, except
 * what fn returns; its scope catches every tensor made while it is the innermost one.
 *
 * That is not always what fn made. Scopes are one stack, not one per async task: after an await, JavaScript cannot
 * tell whose code runs (browsers have no async context to ask), so while fn awaits, the tensors other code makes
 * outside a tidy, or gets from one, land in this call's scope, and overlapping calls catch each other's (what fn makes
 * after an await lands in whichever call began last). No rule on one stack keeps a call from disposing another's
 * tensor (tfjs refuses async functions in its tidy for this reason), so the mistake is made loud rather than a bare
 * "was disposed": a tensor a tidyAsync freed says so when used, with what to do, and a call whose result another
 * call's scope disposed fails when it ends. What fn returns is its own whichever scope holds it (taken out of the
 * others), and calls that nest (an inner call awaited inside fn) are exact. For concurrent work (a Node service's
 * requests), create tensors before the first await or inside tidy(), and keep() (and dispose) what outlives an await.
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const parent = scopes[scopes.length - 1] ?? null;
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    abandonScope(scope);
    throw error;
  } finally {
    scopes.splice(scopes.lastIndexOf(scope), 1);
  }
  const returned = tensorsIn(result);
  // What this call frees may be other code's (see above): marked, so that such code, using it, learns why it is gone.
  for (const t of scope) if (!returned.has(t) && !t.disposed) freedByTidyAsync.add(t);
  // A result made after an await while a later call's scope was the innermost, and freed when that call ended: an
  // error here rather than a dead tensor returned. Nothing of fn's is delivered, so its other results go too.
  const lost = [...returned].find((t) => t.disposed);
  if (lost) {
    for (const t of returned) t.dispose();
    closeScope(scope, new Set(), null);
    throw new Error(`tidyAsync: fn returned ${lost.describe()}, which was disposed before fn returned${whyDisposed(lost)}`);
  }
  for (const t of returned) {
    for (const other of scopes) other.delete(t);
    scope.add(t);
  }
  // Kept tensors go where this call began (its enclosing scope, if still open), not to the innermost scope now.
  closeScope(scope, returned, parent && scopes.includes(parent) ? parent : null);
  return result;
}

/** The tensors in a tidy's result (alone, in arrays or in objects). */
function tensorsIn(result: unknown): Set<Tensor> {
  const found = new Set<Tensor>();
  collectTensors(result, found);
  return found;
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) value.forEach((v) => collectTensors(v, into));
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    Object.values(value).forEach((v) => collectTensors(v, into));
  }
}
