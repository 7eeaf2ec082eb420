// Entry point of a forked worker process (cluster.setupPrimary exec).
import { runWorker } from './worker.ts'

runWorker()
