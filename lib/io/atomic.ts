/**
 * Atomic file writes: write a temporary file beside the target, flush it, then rename it over the
 * target. A reader sees the old file or the new one, never half of one.
 *
 * @module
 */

/**
 * Writes `data` to `path` atomically (temp file, fsync, rename).
 *
 * @param path Destination file.
 * @param data Bytes or text to write.
 * @example
 * ```ts
 * import { writeFileAtomic } from "./lib/io/atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.json`, "{}");
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
