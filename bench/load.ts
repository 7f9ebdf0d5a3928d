// The load generator, in its own process (pinned to its own core by run.ts): receives load
// requests over IPC, runs autocannon, and answers with the figures.
import autocannon from 'autocannon'

export interface LoadRequest {
  url: string
  /** Cookie headers, one per session, used in turn; empty for requests without a session. */
  cookies: readonly string[]
  /** Seconds. */
  duration: number
  /** When set, exactly this many requests instead of a duration (cold cookies: each used once). */
  amount?: number
  connections: number
  pipelining: number
}

export interface LoadResult {
  /** Requests per second: completed requests over the measured time. */
  rps: number
  /** Requests completed. */
  total: number
  /** Milliseconds. */
  p99: number
  non2xx: number
  errors: number
}

function load (request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // Requests take the sessions in turn, so concurrent requests rarely share one (as a browser's
    // requests would not). Every scenario goes through setupRequest, so the load generator does
    // the same work for each.
    const sets = request.cookies.map((cookie) => ({ cookie }))
    let next = 0
    autocannon({
      url: request.url,
      requests: [{
        setupRequest (req: { headers?: Record<string, string> }) {
          if (sets.length > 0) req.headers = sets[next++ % sets.length] as Record<string, string>
          return req
        },
      }],
      ...(request.amount === undefined ? { duration: request.duration } : { amount: request.amount }),
      connections: request.connections,
      pipelining: request.pipelining,
    }, (error, result) => {
      if (error !== null && error !== undefined) return reject(error)
      resolve({
        // Per-second samples miss the last part-second of a run by amount.
        rps: request.amount === undefined ? result.requests.average : result.requests.total / result.duration,
        total: result.requests.total,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
      })
    })
  })
}

process.on('message', (message: LoadRequest) => {
  load(message).then(
    (result) => process.send?.({ result }),
    (error: Error) => process.send?.({ error: error.message })
  )
})
process.on('disconnect', () => process.exit(0))
