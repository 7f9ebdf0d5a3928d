// redisStorage's compare-and-write scripts, Cluster and Sentinel topologies, conformance, and the expiry queue: one file per subject in test/storage-redis/, run in one process (each test process
// costs ~2 s of CPU to load tap, Fastify and the sources through the loader). Their tests run in this order.
import './storage-redis/cas.js'
import './storage-redis/cluster.js'
import './storage-redis/conformance.js'
import './storage-redis/deadlines.js'
import './storage-redis/sentinel.js'
