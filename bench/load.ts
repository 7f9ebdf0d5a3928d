// The load generator, in its own process (pinned to its own core by run.ts): receives load
// requests over IPC, runs autocannon, and answers with the figures.
import autocannon from 'autocannon'

export interface LoadRequest {
  url: string
  headers: Record<string, string>
  /** Seconds. */
  duration: number
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
    autocannon({
      url: request.url,
      headers: request.headers,
      duration: request.duration,
      connections: request.connections,
      pipelining: request.pipelining,
    }, (error, result) => {
      if (error !== null && error !== undefined) return reject(error)
      resolve({
        rps: result.requests.average,
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
