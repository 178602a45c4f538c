import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Private working folders of jobs (downloaded packages), in `<data dir>/tmp`. A job removes its folder when
 * it ends; what a crash left behind is removed at the next start, before any job runs. The folder belongs
 * to the one server that uses the data dir (as the simulated phones' state does), so emptying it cannot
 * touch another process's work, unlike sweeping names in the system's shared temp dir. It is also on the
 * data dir's disk rather than in /tmp, which is often memory (a 2 GB package there is 2 GB of RAM).
 */
export class Scratch {
  constructor(readonly root: string) {}

  /** Removes everything an earlier process left. */
  async clear(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
    await mkdir(this.root, { recursive: true, mode: 0o700 });
  }

  /** Runs `use` in a new empty folder of its own, named `<prefix>XXXXXX`, removed when `use` ends, however it ends. */
  async using<T>(prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.root, prefix));
    try {
      return await use(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
