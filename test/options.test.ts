// Provider options: the defaults, and the cookie attributes partitioned and priority: one file per subject in test/options/, run in one process (each test process
// costs ~2 s of CPU to load tap, Fastify and the sources through the loader). Their tests run in this order.
import './options/defaults.js'
import './options/cookie-attributes.js'
