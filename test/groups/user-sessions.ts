// Runs the test files of the user-sessions group in one process (see test/helpers/groups.ts).
import { GROUPS, runGroup } from '../helpers/groups.js'

await runGroup(GROUPS['user-sessions'])
