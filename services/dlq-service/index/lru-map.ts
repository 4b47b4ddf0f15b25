// A Map of at most `limit` entries that forgets the least recently used
// first: the archive's caches (entries read, filtered totals).
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) this.touch(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.touch(key, value);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as K);
  }

  clear(): void {
    this.map.clear();
  }

  /** To the end: the least recently used stay at the front. */
  private touch(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
  }
}
