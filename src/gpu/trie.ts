// A trie over sequences of keys, for caches whose key is a short sequence of objects or numbers (a bind group's
// pipeline, uniform and buffers; a pipeline's shader, entry point and constants): a lookup is a few Map reads of
// keys that V8 hashes once (objects, interned names, small integers), with no key string built per call.

export class Trie<K, V> {
  private children = new Map<K, Trie<K, V>>();
  /** The value of the sequence that ends here. */
  value: V | null = null;

  child(key: K): Trie<K, V> {
    let node = this.children.get(key);
    if (!node) this.children.set(key, (node = new Trie<K, V>()));
    return node;
  }
}
