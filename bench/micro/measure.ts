// The micro-benchmarks' one harness: each case runs in turn, several rounds (interleaved, so a
// busy moment of a shared machine hits every case alike), and the median time per call is printed.
// The scripts in this folder each compare a choice of the code with what it replaced or avoided;
// run one with `node scripts/run-built.mjs bench/micro/<name>.js`.

export interface Case {
  label: string
  /** One call; its result is kept, so the work cannot be optimized away. */
  run: (i: number) => unknown
}

let sink: unknown

function timeOnce (c: Case, calls: number): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) sink = c.run(i)
  return Number(process.hrtime.bigint() - start) / calls
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1] as number
}

/** Prints each case's median ns per call over `rounds` interleaved rounds of `calls` calls. */
export function compare (title: string, cases: readonly Case[], calls = 100_000, rounds = 9): number[] {
  for (const c of cases) timeOnce(c, calls) // warm-up: every case compiled before timing
  const times = cases.map(() => [] as number[])
  for (let r = 0; r < rounds; r++) cases.forEach((c, i) => times[i]?.push(timeOnce(c, calls)))
  const medians = times.map(median)
  process.stdout.write(`${title}\n`)
  cases.forEach((c, i) => {
    const ns = medians[i] as number
    const first = medians[0] as number
    process.stdout.write(`  ${c.label.padEnd(60)} ${ns >= 1000 ? (ns / 1000).toFixed(2) + ' µs' : ns.toFixed(0) + ' ns'} per call` +
      (i === 0 ? '' : ` (${(ns / first).toFixed(2)}x the first)`) + '\n')
  })
  if (sink === Symbol.for('never')) process.stdout.write('')
  return medians
}
