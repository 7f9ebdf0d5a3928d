// A bounded map of recent entries, cheaper than an LRU on the request path (lru-cache with the same
// bound: as fast at 100 live values, 1.4x slower at 1000; bench/micro/recent.ts): two generations of
// plain Maps. Writes go to the current one; when it reaches half the limit it becomes the older
// one and the previous older one is dropped whole. A read that finds an entry in the older
// generation moves it into the current one, so entries in use survive turnovers. Keys are copied
// when stored (see detach); values are the caller's to keep detached.

/** A bounded map of recently used entries, by weight (1 per entry unless `weigh` says otherwise). */
export class Recent<V> {
  #current = new Map<string, V>()
  #older = new Map<string, V>()
  #currentWeight = 0
  #olderWeight = 0
  readonly #half: number
  readonly #weigh: (key: string, value: V) => number

  constructor (limit: number, weigh: (key: string, value: V) => number = () => 1) {
    if (!(limit > 0)) throw new RangeError(`the limit must be a positive number, got ${limit}`)
    this.#half = limit / 2
    this.#weigh = weigh
  }

  /** The total weight held: never more than the limit. */
  get weight (): number {
    return this.#currentWeight + this.#olderWeight
  }

  get (key: string): V | undefined {
    const value = this.#current.get(key)
    if (value !== undefined) return value
    const old = this.#older.get(key)
    if (old !== undefined) {
      this.#older.delete(key)
      this.#olderWeight -= this.#weigh(key, old)
      this.set(key, old)
    }
    return old
  }

  set (key: string, value: V): void {
    const weight = this.#weigh(key, value)
    if (weight > this.#half) return
    if (this.#currentWeight + weight > this.#half) {
      this.#older = this.#current
      this.#olderWeight = this.#currentWeight
      this.#current = new Map()
      this.#currentWeight = 0
    }
    const replaced = this.#current.get(key)
    if (replaced !== undefined) this.#currentWeight -= this.#weigh(key, replaced)
    // The key is kept: a copy, whatever request string it was cut from (see detach).
    this.#current.set(detach(key), value)
    this.#currentWeight += weight
  }
}

/**
 * A copy of `text` that keeps nothing else alive. In V8 a substring is a view of the string it was
 * cut from: a cookie value cut from a Cookie header keeps the whole header, every other cookie
 * included, for as long as a cache keeps the value. Only what a cache keeps needs this.
 */
export function detach (text: string): string {
  return (' ' + text).slice(1)
}
