/**
 * Atomic file writes: write a temporary file beside the target, flush it, then rename it over the
 * target. A reader sees the old file or the new one, never half of one. A process killed (or a disk
 * that fills) between the two steps leaves only the temporary file, `<target>.tmp-<pid>-<8 hex>`,
 * which `removeTempFiles` clears on the next start.
 *
 * @module
 */

/** Names of the temporary files `writeFileAtomic` makes: `<target>.tmp-<pid>-<8 hex digits>`. */
export const TEMP_FILE_PATTERN: RegExp = /\.tmp-\d+-[0-9a-f]{8}$/;

/**
 * Writes `data` to `path` atomically (temp file, fsync, rename).
 *
 * @param path Destination file.
 * @param data Bytes or text to write.
 * @throws {Error} Naming `path` when the write fails (a full disk, no permission, a missing
 *   directory); the temporary file is removed and the old file, if any, is untouched.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.json`, "{}");
 * assert.strictEqual(await Deno.readTextFile(`${dir}/a.json`), "{}");
 * assert.deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.json"]); // no temp file left
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = tempName(path);
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`Cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * `writeFileAtomic` for synchronous code (a callback inside a computation that cannot await): the same
 * temp file, fsync and rename, blocking.
 *
 * @param path Destination file.
 * @param data Bytes or text to write.
 * @throws {Error} As `writeFileAtomic`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeFileAtomicSync } from "./atomic.ts";
 * const dir = Deno.makeTempDirSync();
 * writeFileAtomicSync(`${dir}/a.json`, "{}");
 * assert.strictEqual(Deno.readTextFileSync(`${dir}/a.json`), "{}");
 * ```
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = tempName(path);
  try {
    const file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* it was never made */ }
    throw new Error(`Cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** A fresh temporary name beside `path` (matching `TEMP_FILE_PATTERN`). */
function tempName(path: string): string {
  return `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Removes the temporary files that `writeFileAtomic` left behind in `dir` and its subdirectories
 * (after a kill or a full disk). Only names matching `TEMP_FILE_PATTERN` are touched.
 *
 * @param dir Directory to clean (a missing one is fine).
 * @returns The paths removed.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { removeTempFiles } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.json.tmp-123-0123abcd`, "{");
 * assert.deepStrictEqual(await removeTempFiles(dir), [`${dir}/a.json.tmp-123-0123abcd`]);
 * assert.deepStrictEqual([...Deno.readDirSync(dir)], []);
 * ```
 */
export async function removeTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) removed.push(...await removeTempFiles(path));
    else if (entry.isFile && TEMP_FILE_PATTERN.test(entry.name)) {
      await Deno.remove(path);
      removed.push(path);
    }
  }
  return removed;
}
