import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'

const root = fileURLToPath(new URL('..', import.meta.url))

function node (args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' })
}

test('the built package can be imported and required by its name', async (t) => {
  if (!existsSync(new URL('../dist/lib/index.js', import.meta.url))) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' })
  }
  const names = 'default,cookieSession,headerSession,memoryStorage,directoryStorage,redisStorage,cacheStorage,messageAuthentication,encrypt,ktorEncrypt,digest,hex,jsonSerializer,ktorSerializer,FST_SESSIONS_OPTIONS'
  const check = `const want = '${names}'.split(','); const missing = want.filter((n) => typeof m[n] !== 'function'); console.log(missing.join(',') || 'ok')`
  t.equal(node(['--input-type=module', '-e', `const m = await import('fastify-sessions'); ${check}`]).trim(), 'ok', 'import')
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  if (major > 20 || (major === 20 && minor >= 19)) {
    t.equal(node(['-e', `const m = require('fastify-sessions'); ${check}`]).trim(), 'ok', 'require')
  } else {
    t.comment(`require(esm) needs Node >= 20.19; this is ${process.versions.node}`)
  }
  t.equal(node(['--input-type=module', '-e', "const m = await import('fastify-sessions/testing'); console.log(Array.isArray(m.storageConformance) && Array.isArray(m.transformerConformance))"]).trim(), 'true', 'the conformance suites')
})
