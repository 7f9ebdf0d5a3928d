// The storage wrappers and adapters: the read cache, connect stores, expiry: one file per subject in test/storages/, run in one process (each test process
// costs ~2 s of CPU to load tap, Fastify and the sources through the loader). Their tests run in this order.
import './storages/cache.js'
import './storages/connect.js'
import './storages/expiry.js'
