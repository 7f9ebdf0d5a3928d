// The project's own scripts: `npm start` (ensure-deps, the demo build) and ensure-deps: one file per subject in test/scripts/, run in one process (each test process
// costs ~2 s of CPU to load tap, Fastify and the sources through the loader). Their tests run in this order.
import './scripts/start.js'
import './scripts/ensure-deps.js'
