// Migrating from other session plugins: one file per subject in test/migrate/, run in one process (each test process
// costs ~2 s of CPU to load tap, Fastify and the sources through the loader). Their tests run in this order.
import './migrate/connect-session.js'
import './migrate/cost.js'
import './migrate/secure-session.js'
