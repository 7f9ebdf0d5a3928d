// Every command runs as a call bounded by the storage's own `timeout`, and is handed to ioredis
// only while the connection is `ready`: while a connection is being made a call waits for it
// (within the same deadline), while ioredis is between reconnection attempts a call fails at once.
// So an outage costs a request a prompt 503, and no command waits in ioredis's offline queue to run
// minutes after we reported its failure. When a command sent on a ready connection gets no answer
// in time, the server hangs: the connection of a client we made is then dropped (see `#expire`).
// A command already written to a server that hangs (SIGSTOP, a stuck host) can still run when it
// wakes, after we reported the timeout; no client can recall bytes already sent, but commands on one
// connection keep their order and PXAT is absolute, so a late write never outlives its expiry.
import type { Cluster, Redis } from 'ioredis'
import { FST_SESSIONS_STORAGE_UNAVAILABLE } from '../../lib/errors.js'
import { DeadlineQueue, type Queued } from './deadlines.js'
import { ConnectionWait } from './readiness.js'

/** A call in flight, until its answer, its failure or its deadline, whichever comes first. */
class Call implements Queued<Call> {
  deadline = 0
  prev: Call | undefined = undefined
  next: Call | undefined = undefined
  settled = false
  /** Handed to ioredis on a ready connection. */
  sent = false

  constructor (
    readonly name: string,
    readonly send: () => Promise<unknown>,
    readonly done: (error: Error | undefined, value: unknown) => void
  ) {}
}

function unavailable (message: string, cause?: unknown): Error {
  return cause === undefined
    ? new FST_SESSIONS_STORAGE_UNAVAILABLE(message)
    : new FST_SESSIONS_STORAGE_UNAVAILABLE(message, { cause })
}

export interface CommandsOptions {
  /** Milliseconds a call may take, waiting for the connection included. */
  timeout: number
  /** Whether the storage made the client (and may drop its connection). */
  owned: boolean
}

/** Runs the storage's commands on `client`, each within `timeout`; failures are FST_SESSIONS_STORAGE_UNAVAILABLE. */
export class Commands {
  readonly #client: Redis | Cluster
  readonly #timeout: number
  readonly #owned: boolean
  readonly #deadlines: DeadlineQueue<Call>
  readonly #waiting: ConnectionWait<Call>
  #closed = false

  constructor (client: Redis | Cluster, options: CommandsOptions) {
    this.#client = client
    this.#timeout = options.timeout
    this.#owned = options.owned
    this.#deadlines = new DeadlineQueue<Call>({ timeout: options.timeout, expire: (overdue) => { this.#expire(overdue) } })
    this.#waiting = new ConnectionWait<Call>(client, (call, error) => {
      if (error === undefined) this.#send(call)
      else this.#fail(call, error)
    })
  }

  /** Runs `send` (one command, named `name` in errors) as a bounded call. */
  run<T> (name: string, send: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(unavailable(`redis ${name}: the storage is closed`))
    return new Promise<T>((resolve, reject) => {
      // `value` is what `send` resolved to, hence a T.
      this.#start(new Call(name, send, (error, value) => { if (error === undefined) resolve(value as T); else reject(error) }))
    })
  }

  /** Every later call fails at once; calls in flight go on. */
  close (): void {
    this.#closed = true
  }

  #start (call: Call): void {
    const status = this.#client.status
    if (status === 'ready') {
      this.#deadlines.add(call)
      this.#send(call)
    } else if (status === 'connecting' || status === 'connect' || status === 'wait') {
      this.#deadlines.add(call)
      this.#waiting.add(call)
      if (status === 'wait') this.#client.connect().catch(() => {})
    } else {
      this.#fail(call, new Error(`not connected (${status})`))
    }
  }

  // Hands the command over only on a ready connection: anything else would queue it in ioredis
  // (for clients with an offline queue) and run it after we have reported a failure.
  #send (call: Call): void {
    if (call.settled) return
    if (this.#client.status !== 'ready') {
      this.#fail(call, new Error(`not connected (${this.#client.status})`))
      return
    }
    let sending: Promise<unknown>
    call.sent = true
    try {
      sending = call.send()
    } catch (error) {
      this.#fail(call, error)
      return
    }
    sending.then((value) => { this.#settle(call, undefined, value) }, (error: unknown) => { this.#fail(call, error) })
  }

  #fail (call: Call, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error)
    this.#settle(call, unavailable(`redis ${call.name} failed: ${message}`, error), undefined)
  }

  #settle (call: Call, error: Error | undefined, value: unknown): void {
    if (call.settled) return
    call.settled = true
    this.#deadlines.remove(call)
    this.#waiting.remove(call)
    call.done(error, value)
  }

  #expire (overdue: Call[]): void {
    let hung = false
    for (const call of overdue) {
      hung ||= call.sent
      this.#settle(call, unavailable(`redis ${call.name} got no answer within ${this.#timeout} ms`), undefined)
    }
    // A command sent on a ready connection got no answer: the server hangs. ioredis keeps every
    // command it sent until the connection ends, arguments included, so the connection of a client
    // we made is dropped now (a destroyed socket: ending it politely would wait for the hung
    // server) rather than holding a queue that grows with the traffic until the server wakes. The
    // client fails what it still held and reconnects, resending nothing; what the server already
    // received may still run when it wakes, as before. A client passed in is the application's.
    if (hung && this.#owned && this.#client.status === 'ready') (this.#client as Redis).stream.destroy()
  }
}
