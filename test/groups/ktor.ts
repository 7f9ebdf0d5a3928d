// Runs the test files of the ktor group in one process (see test/helpers/groups.ts).
import { GROUPS, runGroup } from '../helpers/groups.js'

await runGroup(GROUPS['ktor'])
