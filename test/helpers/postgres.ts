// A throwaway PostgreSQL cluster for the suites that need one (connect-pg-simple): initdb into a
// fresh temporary folder, a postmaster on a free loopback port with its socket in that folder,
// stopped and removed at teardown. initdb refuses to run as root, so as root the cluster belongs
// to the `postgres` user the Debian package creates (`runuser -u postgres --`).
import { spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, type TestContext } from './redis.js'

/** The notice of a skipped PostgreSQL suite. */
export const POSTGRES_MISSING = 'PostgreSQL suites skipped: apt-get install postgresql'

const ROOT = '/usr/lib/postgresql'

/** The bin folder of the newest PostgreSQL under /usr/lib/postgresql that has initdb and pg_ctl. */
export function postgresBin (): string | undefined {
  if (!existsSync(ROOT)) return undefined
  const versions = readdirSync(ROOT).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
  for (const version of versions) {
    const bin = join(ROOT, version, 'bin')
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin
  }
  return undefined
}

/** The uid and gid of the `postgres` user, when this process is root (and one is needed). */
function owner (): { uid: number, gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim())
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim())
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) throw new Error('running as root, and there is no postgres user to own the throwaway cluster')
  return { uid, gid }
}

/**
 * `false` when the PostgreSQL suites can run; otherwise the reason to pass as `{ skip }`, after
 * failing `t` under CI (CI must run them) or printing a loud notice elsewhere.
 */
export function postgresSkip (t: TestContext): string | false {
  if (postgresBin() !== undefined) return false
  const ci = process.env['CI']
  if (ci !== undefined && ci !== '' && ci !== 'false') {
    t.fail(`PostgreSQL (${ROOT}/<version>/bin/initdb) is missing and CI is set; the PostgreSQL suites must run in CI: apt-get install postgresql`)
  } else {
    t.comment(`!!! ${POSTGRES_MISSING} !!!`)
    process.stderr.write(`\n!!! ${POSTGRES_MISSING} !!!\n\n`)
  }
  return POSTGRES_MISSING
}

const running = new Set<PostgresServer>()
process.on('exit', () => { for (const server of running) server.stopSync() })

/** One throwaway cluster. */
export class PostgresServer {
  private constructor (readonly port: number, readonly dir: string, private readonly bin: string, private readonly as: { uid: number, gid: number } | undefined) {}

  get data (): string { return join(this.dir, 'data') }
  /** A connection string for the `postgres` superuser (trust authentication, loopback only). */
  get url (): string { return `postgres://postgres@127.0.0.1:${this.port}/postgres` }

  /** Starts a cluster on a free port in a new temporary folder; `t`'s teardown stops it. */
  static async start (t: TestContext): Promise<PostgresServer> {
    const bin = postgresBin()
    if (bin === undefined) throw new Error(POSTGRES_MISSING)
    const as = owner()
    const dir = mkdtempSync(join(tmpdir(), 'fastify-sessions-pg-'))
    if (as !== undefined) chownSync(dir, as.uid, as.gid)
    let server: PostgresServer | undefined
    t.teardown(() => {
      server?.stopSync()
      rmSync(dir, { recursive: true, force: true })
    })
    let lastError: unknown
    // A free port can be taken between the check and the postmaster's bind: try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      server = new PostgresServer(await freePort(), dir, bin, as)
      try {
        if (attempt === 0) server.run('initdb', ['-D', server.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
        server.run('pg_ctl', ['-D', server.data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', 'start', '-o',
          `-p ${server.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`])
        running.add(server)
        return server
      } catch (error) {
        lastError = error
      }
    }
    throw lastError
  }

  /** Runs one of the cluster's programs, as its owner; throws with its output when it fails. */
  private run (program: string, args: string[]): void {
    const command = this.as === undefined ? join(this.bin, program) : 'runuser'
    const full = this.as === undefined ? args : ['-u', 'postgres', '--', join(this.bin, program), ...args]
    const result = spawnSync(command, full, { encoding: 'utf8', cwd: this.dir })
    if (result.status !== 0) throw new Error(`${program} failed (${result.status}): ${result.stderr}${result.stdout}`)
  }

  /** Stops the postmaster at once (its data is thrown away anyway). */
  stopSync (): void {
    if (!running.delete(this)) return
    try {
      this.run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop'])
    } catch {
      // Already gone.
    }
  }
}

/** A throwaway cluster for this test. */
export function startPostgres (t: TestContext): Promise<PostgresServer> {
  return PostgresServer.start(t)
}
