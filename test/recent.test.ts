import { test } from 'tap'
import { detach, Recent } from '../lib/recent.js'
import { heapMB } from './helpers/heap.js'

/** The last 40 characters of a fresh 64 KB string: in V8, a view that keeps all 64 KB alive. */
function cutFromLargeText (i: number): string {
  const text = Buffer.alloc(64 * 1024, 'x').toString('latin1') + `|key number ${String(i).padStart(20, '0')}`
  return text.slice(-40)
}

test('a recent entry is found again', async (t) => {
  const recent = new Recent<number>(100)
  recent.set('a', 1)
  t.equal(recent.get('a'), 1)
  t.equal(recent.get('b'), undefined)
})

test('the total weight never passes the limit: the older half is forgotten at once', async (t) => {
  const recent = new Recent<string>(10, (key, value) => key.length + value.length)
  for (let i = 0; i < 100; i++) {
    recent.set(`k${i % 10}`, 'vv') // 4 each: at most 2 per generation of 5
    t.ok(recent.weight <= 10, `weight ${recent.weight} after ${i + 1} writes`)
  }
  recent.set('k1', 'vv')
  recent.set('k2', 'vv')
  recent.set('k3', 'vv')
  t.equal(recent.get('k1'), undefined, 'two generations later, the first write is gone')
  t.equal(recent.get('k3'), 'vv')
})

test('reading an entry of the older generation keeps it through the next turnover', async (t) => {
  const recent = new Recent<number>(4) // two entries per generation
  recent.set('a', 1)
  recent.set('b', 2)
  recent.set('c', 3) // a and b now older
  t.equal(recent.get('a'), 1) // a moves into the current generation: { c, a }
  recent.set('d', 4) // turnover: older { c, a }, current { d }
  t.equal(recent.get('b'), undefined, 'b, never read again, is forgotten')
  t.equal(recent.get('a'), 1)
  t.equal(recent.get('c'), 3)
})

test('an entry heavier than a generation is not kept', async (t) => {
  const recent = new Recent<string>(10, (key, value) => value.length)
  recent.set('small', 'x')
  recent.set('big', 'x'.repeat(6))
  t.equal(recent.get('big'), undefined)
  t.equal(recent.get('small'), 'x', 'nor does it push out what is there')
})

test('a limit that is not a positive number is refused', async (t) => {
  t.throws(() => new Recent(0), RangeError)
  t.throws(() => new Recent(Number.NaN), RangeError)
})

test('keys are kept as copies, whether set or moved by a read, so the text they were cut from is freed', async (t) => {
  const n = 200
  const recent = new Recent<number>(2 * n) // n entries per generation
  const before = heapMB()
  for (let i = 0; i < n; i++) recent.set(cutFromLargeText(i), i)
  t.ok(heapMB() - before < 3, 'set: the 64 KB texts are not kept')
  recent.set('filler', -1) // a turnover: the n keys are now the older generation
  let found = 0
  for (let i = 0; i < n; i++) if (recent.get(cutFromLargeText(i)) === i) found++
  t.equal(found, n, 'every key was found, and moved to the current generation')
  const grown = heapMB() - before
  t.ok(grown < 3, `moved by a read: the heap grew by ${grown.toFixed(2)} MB for ${n} keys cut from 64 KB texts`)
})

test('detach returns an equal string', async (t) => {
  const cut = cutFromLargeText(7)
  t.equal(detach(cut), cut)
  t.equal(detach(''), '')
})
