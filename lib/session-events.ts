import { hasCapability, type SessionStorage } from '../storages/storage.js'

// Live revocation: a WebSocket (or any long-lived handler) opened with a server-side session
// watches its storage key, and learns when the session ends by logout, regenerate or revocation,
// in this process at once and, over a storage with `publishEnded` / `subscribeEnded` (Redis
// pub/sub), in every process sharing the storage. A session that simply expires sends nothing:
// a watcher that lives longer than the idle timeout re-checks with `reload`.

export type EndedListener = () => void

export class SessionEvents {
  readonly #storage: SessionStorage
  /** Whether ended sessions are published to other processes (providers with `subject`). */
  readonly #publish: boolean
  readonly #watchers = new Map<string, Set<EndedListener>>()
  #listening: Promise<void> | null = null

  constructor (storage: SessionStorage, publish: boolean) {
    this.#storage = storage
    this.#publish = publish
  }

  /** Calls `listener` once when the session under `key` ends; returns the unsubscribe. */
  watch (key: string, listener: EndedListener): () => void {
    this.#listen()
    let set = this.#watchers.get(key)
    if (set === undefined) this.#watchers.set(key, set = new Set())
    set.add(listener)
    return () => {
      const current = this.#watchers.get(key)
      current?.delete(listener)
      if (current?.size === 0) this.#watchers.delete(key)
    }
  }

  /** The sessions under `keys` ended here: watchers here are told, and the other processes. */
  ended (keys: readonly string[]): void {
    if (keys.length === 0) return
    this.#fire(keys)
    // Best effort: a lost message leaves a socket open until it re-checks, never fails a request.
    if (this.#publish && hasCapability(this.#storage, 'publishEnded')) this.#storage.publishEnded(keys).catch(() => {})
  }

  #listen (): void {
    if (this.#listening !== null || !this.#publish || !hasCapability(this.#storage, 'subscribeEnded')) return
    this.#listening = this.#storage.subscribeEnded((keys) => { this.#fire(keys) }).catch(() => { this.#listening = null })
  }

  #fire (keys: readonly string[]): void {
    for (const key of keys) {
      const set = this.#watchers.get(key)
      if (set === undefined) continue
      this.#watchers.delete(key)
      for (const listener of set) {
        try {
          listener()
        } catch {
          // A listener's mistake must not stop the others nor reach the request that ended the session.
        }
      }
    }
  }
}
