// Runs the test files of the compat group in one process (see test/helpers/groups.ts).
import { GROUPS, runGroup } from '../helpers/groups.js'

await runGroup(GROUPS['compat'])
