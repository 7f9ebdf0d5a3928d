// Calls waiting for a connection being made. One set of listeners serves them all, added for the
// first and removed with the last: a call that times out leaves the set, so a connection that never
// gets ready (a server that accepts and never answers) keeps nothing of it.
import type { Cluster, Redis } from 'ioredis'

/** The calls waiting for the connection; `resume` is told, for each, when to go on or why not. */
export class ConnectionWait<T> {
  readonly #client: Redis | Cluster
  readonly #resume: (waiter: T, error?: Error) => void
  readonly #waiting = new Set<T>()
  readonly #onReady = (): void => { this.#release() }
  readonly #onClose = (): void => { this.#release(new Error('the connection attempt failed')) }

  constructor (client: Redis | Cluster, resume: (waiter: T, error?: Error) => void) {
    this.#client = client
    this.#resume = resume
  }

  /** Resumes `waiter` once the connection is ready, or fails it once the attempt ends. */
  add (waiter: T): void {
    if (this.#waiting.size === 0) {
      this.#client.on('ready', this.#onReady)
      this.#client.on('close', this.#onClose)
      this.#client.on('end', this.#onClose)
    }
    this.#waiting.add(waiter)
  }

  /** Forgets `waiter` (it settled otherwise); unknown waiters are ignored. */
  remove (waiter: T): void {
    if (this.#waiting.delete(waiter) && this.#waiting.size === 0) this.#stopListening()
  }

  #stopListening (): void {
    this.#client.off('ready', this.#onReady)
    this.#client.off('close', this.#onClose)
    this.#client.off('end', this.#onClose)
  }

  #release (error?: Error): void {
    const waiters = [...this.#waiting]
    this.#waiting.clear()
    this.#stopListening()
    for (const waiter of waiters) this.#resume(waiter, error)
  }
}
