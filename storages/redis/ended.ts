// Live revocation over Redis pub/sub: `publishEnded` PUBLISHes the ended storage keys (hashes,
// nothing personal) on `<prefix>ended`; `subscribeEnded` listens on a connection of its own (a
// duplicate of the storage's client: a subscribed connection can send nothing else), made on first
// use and closed with the storage. PUBLISH reaches every node of a Cluster.
import type { Cluster, Redis } from 'ioredis'
import type { WithClose } from '../storage.js'
import type { Commands } from './commands.js'

export interface RedisEnded {
  publishEnded (keys: readonly string[]): Promise<void>
  subscribeEnded (listener: (keys: string[]) => void): Promise<void>
  close: WithClose['close']
}

export function redisEnded (client: Redis | Cluster, commands: Commands, prefix: string): RedisEnded {
  const channel = `${prefix}ended`
  let subscriber: Redis | Cluster | null = null
  const listeners = new Set<(keys: string[]) => void>()
  return {
    async publishEnded (keys) {
      if (keys.length > 0) await commands.run('PUBLISH', () => client.publish(channel, keys.join(' ')))
    },
    async subscribeEnded (listener) {
      listeners.add(listener)
      if (subscriber !== null) return
      // With an offline queue, unlike the storage's own commands: SUBSCRIBE may wait for the connection.
      const sub = subscriber = client.isCluster ? (client as Cluster).duplicate(undefined, { enableOfflineQueue: true }) : (client as Redis).duplicate({ enableOfflineQueue: true })
      sub.on('error', () => {})
      sub.on('message', (from: string, message: string) => {
        if (from !== channel) return
        const keys = message.split(' ')
        for (const l of listeners) l(keys)
      })
      await sub.subscribe(channel)
    },
    async close () {
      listeners.clear()
      const sub = subscriber
      subscriber = null
      if (sub !== null) sub.disconnect()
    },
  }
}
