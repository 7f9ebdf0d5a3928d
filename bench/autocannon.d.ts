// The few parts of autocannon the bench uses (the package ships no types).
declare module 'autocannon' {
  interface Options {
    url: string
    headers?: Record<string, string>
    duration?: number
    amount?: number
    connections?: number
    pipelining?: number
    requests?: Array<{ setupRequest?: (request: { headers?: Record<string, string> }) => object }>
  }
  interface Histogram { average: number, p99: number, total: number }
  interface Result {
    requests: Histogram
    latency: Histogram
    non2xx: number
    errors: number
    timeouts: number
    /** Seconds. */
    duration: number
  }
  function autocannon (options: Options, done: (error: Error | null | undefined, result: Result) => void): unknown
  export default autocannon
}
