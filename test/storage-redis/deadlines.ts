import { test } from 'tap'
import { DeadlineQueue, type Queued } from '../../storages/redis/deadlines.js'
import { fakeClock } from '../helpers/app.js'

// The queue is given the fake clock (through Date.now) and a timer that fires only when the test
// says so, so time moves only by `clock.advance`.

interface Entry extends Queued<Entry> {
  name: string
}

function entry (name: string): Entry {
  return { name, deadline: 0, prev: undefined, next: undefined }
}

/** A queue with a 1000 ms timeout whose timer is fired by hand; `expired` lists each batch. */
function setup (t: Parameters<typeof fakeClock>[0]) {
  const clock = fakeClock(t)
  const timers: Array<{ fire: () => void, ms: number }> = []
  const expired: string[][] = []
  const queue = new DeadlineQueue<Entry>({
    timeout: 1000,
    expire: (overdue) => { expired.push(overdue.map((e) => e.name)) },
    now: () => Date.now(),
    schedule: (fire, ms) => { timers.push({ fire, ms }) },
  })
  const fire = (): void => {
    const timer = timers.shift()
    if (timer === undefined) throw new Error('no timer armed')
    timer.fire()
  }
  return { clock, timers, expired, queue, fire }
}

test('an entry expires at its deadline and not a millisecond before', async (t) => {
  const { clock, timers, expired, queue, fire } = setup(t)
  queue.add(entry('a'))
  t.same(timers.map((timer) => timer.ms), [1000], 'the timer is armed for the deadline')
  clock.advance(999)
  fire()
  t.same(expired, [], 'a timer that fires early expires nothing')
  t.same(timers.map((timer) => timer.ms), [1], 'and is armed again for what is left')
  clock.advance(1)
  fire()
  t.same(expired, [['a']])
  t.ok(queue.empty)
  t.same(timers, [], 'an empty queue arms no timer')
})

test('one timer serves every entry in flight', async (t) => {
  const { clock, timers, queue } = setup(t)
  for (const name of ['a', 'b', 'c']) {
    queue.add(entry(name))
    clock.advance(10)
  }
  t.equal(timers.length, 1, 'entries added while the timer is armed arm nothing')
})

test('overdue entries expire oldest first in one batch, and the timer moves to the next deadline', async (t) => {
  const { clock, timers, expired, queue, fire } = setup(t)
  queue.add(entry('a'))
  clock.advance(10)
  queue.add(entry('b'))
  clock.advance(490)
  queue.add(entry('c'))
  clock.advance(510)
  fire()
  t.same(expired, [['a', 'b']])
  t.same(timers.map((timer) => timer.ms), [490], 'armed for c')
  clock.advance(490)
  fire()
  t.same(expired, [['a', 'b'], ['c']])
  t.ok(queue.empty)
  queue.add(entry('d'))
  t.same(timers.map((timer) => timer.ms), [1000], 'an entry added to an empty queue arms the timer again')
})

test('a removed entry never expires, and remove says whether the entry was queued', async (t) => {
  const { clock, expired, queue, fire } = setup(t)
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(entry) as [Entry, Entry, Entry, Entry]
  for (const e of [a, b, c, d]) queue.add(e)
  t.equal(queue.remove(b), true, 'from the middle')
  t.equal(queue.remove(b), false, 'not twice')
  t.equal(queue.remove(a), true, 'the first')
  t.equal(queue.remove(d), true, 'the last')
  t.equal(queue.remove(entry('never added')), false)
  t.equal(b.prev, undefined)
  t.equal(b.next, undefined, 'a removed entry keeps no neighbour')
  clock.advance(1000)
  fire()
  t.same(expired, [['c']], 'only the entry left expires')
  t.equal(queue.remove(c), false, 'an expired entry is already out')
  t.ok(queue.empty)
})

test('an entry removed while the timer is armed leaves the queue empty at the deadline', async (t) => {
  const { clock, timers, expired, queue, fire } = setup(t)
  const a = entry('a')
  queue.add(a)
  queue.remove(a)
  clock.advance(1000)
  fire()
  t.same(expired, [], 'no batch for an empty queue')
  t.same(timers, [])
  queue.add(entry('b'))
  t.equal(timers.length, 1, 'the next entry arms the timer')
})

test('with the default clock and timer an overdue entry is expired', async (t) => {
  // The default timer is unref'd, so something else must keep the process up meanwhile.
  const keepAlive = setInterval(() => {}, 60_000)
  t.teardown(() => { clearInterval(keepAlive) })
  const names = await new Promise<string[]>((resolve) => {
    const queue = new DeadlineQueue<Entry>({ timeout: 1, expire: (overdue) => { resolve(overdue.map((e) => e.name)) } })
    queue.add(entry('a'))
  })
  t.same(names, ['a'])
})
