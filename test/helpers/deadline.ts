// "It failed within the timeout" without a wall-clock limit: a test arms a timer of the timeout
// plus a margin next to the call and checks which comes first. Both are timers of one event loop,
// so a loaded machine that runs the process late delays them alike and keeps their order; only
// work done between the code's own timer and the answer counts against the margin.

/** How `promise` ended, and whether it ended before a timer of `ms`, armed now, fired. */
export async function settleWithin<T> (promise: Promise<T>, ms: number): Promise<{ result: PromiseSettledResult<T>, inTime: boolean }> {
  let fired = false
  const timer = setTimeout(() => { fired = true }, ms)
  const [result] = await Promise.allSettled([promise]) as [PromiseSettledResult<T>]
  clearTimeout(timer)
  return { result, inTime: !fired }
}
