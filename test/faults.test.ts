// Faults of a storage under a running app: one file per subject in test/faults/, run in one process (each test process
// costs ~2 s of CPU to load tap, Fastify and the sources through the loader). Their tests run in this order.
import './faults/directory.js'
import './faults/memory.js'
import './faults/redis.js'
