// A few worker threads for work on tenants' bytes that could otherwise take the whole process with it:
// each worker has a V8 heap limit (running out ends the worker, not the process) and each task a deadline
// (a worker that has not answered by then is terminated), and no more than `workers` tasks run at once,
// however many are asked for: the others wait their turn.
import { Worker } from 'node:worker_threads';

export interface WorkerPoolLimits {
  /** Workers at most, hence tasks at once. */
  workers: number;
  /** Each worker's V8 heap (old generation), in MB. */
  heapMb: number;
  /** A task not answered by then has its worker terminated. */
  deadlineMs: number;
  /** A worker idle that long is stopped (a new one starts for the next task). */
  idleMs: number;
}

/** The task's worker ran out of memory or time: the input was too much to handle. */
export class WorkerLimitExceeded extends Error {
  override name = 'WorkerLimitExceeded';

  constructor(readonly reason: 'memory' | 'deadline') {
    super(reason === 'memory' ? 'the worker ran out of memory' : 'the worker did not answer in time');
  }
}

interface Task<In, Out> {
  input: In;
  resolve: (output: Out) => void;
  reject: (error: Error) => void;
}

/**
 * Runs tasks in workers started from `entry`, a module that answers each message it receives with one
 * message. A task's promise settles with that answer, or rejects with WorkerLimitExceeded (heap or
 * deadline), or with the worker's error when it failed for any other reason.
 */
export class WorkerPool<In, Out> {
  private readonly queue: Array<Task<In, Out>> = [];
  private readonly idle = new Map<Worker, NodeJS.Timeout>();
  private readonly running = new Map<Worker, { task: Task<In, Out>; deadline?: NodeJS.Timeout }>();

  constructor(
    private readonly entry: URL,
    private readonly limits: WorkerPoolLimits,
  ) {}

  run(input: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.queue.length > 0 && this.running.size < this.limits.workers) {
      const task = this.queue.shift()!;
      const [idle] = this.idle.keys();
      const worker = idle ?? this.start();
      const running: { task: Task<In, Out>; deadline?: NodeJS.Timeout } = { task };
      const startClock = () => (running.deadline = setTimeout(() => this.failed(worker, new WorkerLimitExceeded('deadline')), this.limits.deadlineMs));
      if (idle) {
        clearTimeout(this.idle.get(idle));
        this.idle.delete(idle);
        startClock();
      } else {
        // The task's time starts when its worker does: a loaded machine's slow thread start is not the input's fault.
        worker.once('online', startClock);
      }
      this.running.set(worker, running);
      worker.ref();
      worker.postMessage(task.input);
    }
  }

  private start(): Worker {
    const resourceLimits = { maxOldGenerationSizeMb: this.limits.heapMb };
    let worker: Worker;
    if (this.entry.pathname.endsWith('.ts')) {
      // Run from sources (tests, or the launcher without its bundle): Node 20 does not give workers the
      // tsx loader the main thread has, so the worker registers it before loading its module.
      const tsx = import.meta.resolve('tsx/esm/api');
      const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(this.entry.href)}); });`;
      worker = new Worker(code, { eval: true, resourceLimits });
    } else {
      worker = new Worker(this.entry, { resourceLimits });
    }
    worker.on('message', (output: Out) => this.answered(worker, output));
    worker.on('error', (error: Error & { code?: string }) =>
      this.failed(worker, error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new WorkerLimitExceeded('memory') : error),
    );
    worker.on('exit', (code) => this.failed(worker, new Error(`the worker stopped with exit code ${code}`)));
    return worker;
  }

  private answered(worker: Worker, output: Out): void {
    const task = this.finish(worker);
    if (!task) return;
    worker.unref();
    this.idle.set(worker, setTimeout(() => this.retire(worker), this.limits.idleMs).unref());
    task.resolve(output);
    this.next();
  }

  /** The worker goes, and its task, if it has one, fails with `error`. */
  private failed(worker: Worker, error: Error): void {
    this.retire(worker);
    const task = this.finish(worker);
    if (!task) return;
    task.reject(error);
    this.next();
  }

  private retire(worker: Worker): void {
    clearTimeout(this.idle.get(worker));
    this.idle.delete(worker);
    void worker.terminate();
  }

  /** The worker's task, now no longer running; undefined for a worker without one (idle, or already failed). */
  private finish(worker: Worker): Task<In, Out> | undefined {
    const current = this.running.get(worker);
    if (!current) return undefined;
    this.running.delete(worker);
    clearTimeout(current.deadline);
    return current.task;
  }
}
