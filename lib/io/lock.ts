/**
 * A lock on a directory while a process works in it (`train` in a run directory, `evaluate` in the
 * directory of its report), so that a second process refuses instead of writing the same files at the
 * same time: two resumes of one run both training would interleave their metrics lines and checkpoints
 * and leave a run that no later resume accepts.
 *
 * The lock is an advisory `flock` on `<dir>/.haat-lock`, which the operating system drops when the
 * process ends, however it ends: a lock left by a killed process is no lock, and the next process takes
 * it without a timeout or a guess from a pid. The file holds the holder's pid, what it does and since
 * when, for the refusal's message; the holder removes it when it releases the lock.
 *
 * @module
 */

/** The lock file's name inside the locked directory. */
export const LOCK_FILE = ".haat-lock";

/** What a lock file says about its holder. */
interface Holder {
  pid: number;
  activity: string;
  since: string;
}

/** A lock held by this process. */
export interface DirectoryLock {
  /** Releases it (the last release of a lock taken more than once in this process removes the file). */
  release(): void;
}

/** Locks this process holds, by the directory's real path, with how many times each was taken. */
const held = new Map<string, { file: Deno.FsFile; path: string; count: number }>();

/** The holder a lock file names, read without locking (a description for messages only). */
function readHolder(file: Deno.FsFile): Holder | undefined {
  try {
    const bytes = new Uint8Array(4096);
    file.seekSync(0, Deno.SeekMode.Start);
    const n = file.readSync(bytes) ?? 0;
    const holder = JSON.parse(new TextDecoder().decode(bytes.subarray(0, n)));
    return typeof holder?.pid === "number" ? holder : undefined;
  } catch {
    return undefined; // being written, or not ours
  }
}

/**
 * Takes the lock on `dir` (which must exist) for this process, or refuses if another process holds it.
 * A process may take a lock it holds again (the demo trains, then evaluates, in one run directory); each
 * take needs its release.
 *
 * @param dir The directory.
 * @param activity What the process does there, for another process's message (e.g. "deno task train").
 * @param action What the refused caller was about to do, for its message (e.g. "resume runs/x").
 * @returns The lock.
 * @throws {Error} `Cannot <action> as another process works in <dir> (pid ..., <activity> since ...):
 *   wait for it to finish`, or if the lock file cannot be made.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { LOCK_FILE, lockDirectory } from "./lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockDirectory(dir, "an example", "run the example");
 * assert.strictEqual(JSON.parse(Deno.readTextFileSync(`${dir}/${LOCK_FILE}`)).pid, Deno.pid);
 * lock.release();
 * assert.throws(() => Deno.statSync(`${dir}/${LOCK_FILE}`), Deno.errors.NotFound); // removed on release
 * ```
 */
export async function lockDirectory(dir: string, activity: string, action: string): Promise<DirectoryLock> {
  const key = await Deno.realPath(dir);
  const mine = held.get(key);
  if (mine) {
    mine.count++;
    return { release: once(() => release(key)) };
  }
  const path = `${dir}/${LOCK_FILE}`;
  for (let attempt = 0; attempt < 10; attempt++) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, write: true, create: true });
    } catch (e) {
      throw new Error(`Cannot ${action} as the lock file ${path} cannot be made: ${(e as Error).message}`);
    }
    let locked: boolean;
    try {
      locked = await file.tryLock(true);
    } catch (e) {
      // A file system without locks (some network mounts): say so, and go on as before locks existed.
      file.close();
      console.warn(
        `warning: ${path} cannot be locked (${(e as Error).message}), so another process working in ${dir} ` +
          `at the same time would not be stopped`,
      );
      return { release() {} };
    }
    if (!locked) {
      const holder = readHolder(file);
      file.close();
      const who = holder ? `pid ${holder.pid}, ${holder.activity} since ${holder.since}` : "its lock is in use";
      throw new Error(
        `Cannot ${action} as another process works in ${dir} (${who}): wait for it to finish, or stop it`,
      );
    }
    // A holder that released the lock between our open and our lock removed the file we opened: lock
    // the file the path names now instead.
    const [opened, named] = await Promise.all([file.stat(), Deno.stat(path).catch(() => undefined)]);
    if (named === undefined || opened.ino !== named.ino || opened.dev !== named.dev) {
      file.close();
      continue;
    }
    const holder: Holder = { pid: Deno.pid, activity, since: new Date().toISOString() };
    await file.truncate(0);
    await file.write(new TextEncoder().encode(JSON.stringify(holder)));
    held.set(key, { file, path, count: 1 });
    return { release: once(() => release(key)) };
  }
  throw new Error(`Cannot ${action} as the lock file ${path} keeps being replaced by other processes`);
}

/** A function that runs `f` on its first call only. */
function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      f();
    }
  };
}

/** Drops one take of the lock on `key`; the last removes the file, then unlocks it. */
function release(key: string): void {
  const lock = held.get(key);
  if (!lock || --lock.count > 0) return;
  held.delete(key);
  // Removed while still locked, so that no other process can lock this file after we let it go.
  try {
    Deno.removeSync(lock.path);
  } catch { /* removed by hand: nothing to clean */ }
  lock.file.close(); // closing drops the flock
}
