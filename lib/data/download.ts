/**
 * Fetching the official CIFAR-10 binary archive (for users with internet access): download with a
 * progress bar, gunzip, untar the `cifar-10-batches-bin/` files, and check them.
 *
 * The check: every official file holds 10,000 records, and its first records must hash to the
 * SHA-256 sums below, which are those of the project's shared subset (the first 4,000 records of
 * `data_batch_1.bin`, the first 932 of every other file, taken unchanged from the official release).
 *
 * @module
 */
import { RECORD_BYTES } from "./cifar10.ts";
import { sha256Hex } from "../io/sha256.ts";
import { writeFileAtomic } from "../io/atomic.ts";

/** The official archive. */
export const CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

/** SHA-256 of the first `records` records of each official file. */
export const PREFIX_SHA256: Record<string, { records: number; sha256: string }> = {
  "data_batch_1.bin": { records: 4000, sha256: "0993cf8b8e43bc207603aef9787006995746513f5e3fa5a52e06d1b069926330" },
  "data_batch_2.bin": { records: 932, sha256: "d8be2e394f486275122ee559eafeb27c7b361cd515e8b22af157135d0c8bdcb1" },
  "data_batch_3.bin": { records: 932, sha256: "ff9dc9eb2d46ee4901a27a6a8bb2eb17e81a34f029c976d4731066200935a780" },
  "data_batch_4.bin": { records: 932, sha256: "9a0ce4a95c35e50eb9c7dbf3066b5edec5f9c1f0c409be6168393b488b7944e7" },
  "data_batch_5.bin": { records: 932, sha256: "fdda7fa3b14c06a9fd2ca26f99a341480beed33e5eabfe0339bb04f209281f36" },
  "test_batch.bin": { records: 932, sha256: "166784dad3e8e4d5a2f9bb0361ed632fc7b82c1353494880b5d8b57988ece819" },
};

/**
 * The regular files of a (ustar) tar archive. Each header's checksum is checked first, so that bytes that
 * are not a tar archive are refused as such instead of read as file names.
 *
 * @param tar The archive's bytes.
 * @returns File names and contents.
 * @throws {Error} If a header's checksum or size field is wrong (not a tar archive, or a damaged one), or
 *   the archive is truncated.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { untar } from "./download.ts";
 * assert.throws(() => untar(new Uint8Array(1024).fill(65)), {
 *   message: /^Cannot read tar archive as the 512 bytes at byte 0 are not a tar header/,
 * });
 * ```
 */
export function untar(tar: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const text = (a: number, b: number) => new TextDecoder().decode(tar.subarray(a, b)).replace(/\0.*$/s, "");
  let at = 0;
  while (at + 512 <= tar.length) {
    if (tar.subarray(at, at + 512).every((b) => b === 0)) break; // the end-of-archive block
    // The header's checksum: the sum of its bytes, with the checksum field itself read as spaces.
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : tar[at + i];
    const recorded = text(at + 148, at + 156).trim();
    if (!/^[0-7]+$/.test(recorded) || parseInt(recorded, 8) !== sum) {
      throw new Error(
        `Cannot read tar archive as the 512 bytes at byte ${at} are not a tar header (their checksum does not ` +
          `match): not a tar archive, or a damaged one`,
      );
    }
    const name = JSON.stringify(text(at, at + 100));
    if (name === '""') break;
    const size = parseInt(text(at + 124, at + 136).trim() || "0", 8);
    if (!Number.isFinite(size)) throw new Error(`Cannot read tar archive as the size of ${name} is corrupt`);
    const type = String.fromCharCode(tar[at + 156]);
    const prefix = text(at + 345, at + 500);
    if (at + 512 + size > tar.length) throw new Error(`Cannot read tar archive as ${name} is truncated`);
    if (type === "0" || type === "\0") {
      const path = text(at, at + 100);
      files.set(prefix ? `${prefix}/${path}` : path, tar.subarray(at + 512, at + 512 + size));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/**
 * Checks the files of a full official CIFAR-10 binary release against `PREFIX_SHA256`.
 *
 * @param files File name (without folder) to contents.
 * @throws {Error} Naming the first file that is missing, of the wrong size, or of the wrong content.
 */
export async function verifyOfficialFiles(files: Map<string, Uint8Array>): Promise<void> {
  for (const [name, { records, sha256 }] of Object.entries(PREFIX_SHA256)) {
    const bytes = files.get(name);
    if (bytes === undefined) throw new Error(`CIFAR-10 archive check failed: ${name} is missing`);
    if (bytes.length !== 10000 * RECORD_BYTES) {
      throw new Error(
        `CIFAR-10 archive check failed: ${name} has ${bytes.length} bytes, expected ${10000 * RECORD_BYTES}`,
      );
    }
    const got = await sha256Hex(bytes.subarray(0, records * RECORD_BYTES));
    if (got !== sha256) throw new Error(`CIFAR-10 archive check failed: ${name} does not match the official content`);
  }
}

/**
 * Downloads the archive with a progress bar on stderr, then gunzips, untars, checks and writes the
 * `.bin` files and `batches.meta.txt` into `dir`.
 *
 * @param dir Destination directory.
 * @param url Archive address. @default CIFAR10_URL
 * @throws {Error} Naming the URL and what to do when the download fails, or the check's error.
 */
export async function downloadCifar10(dir: string, url = CIFAR10_URL): Promise<void> {
  const elsewhere = "or fetch the archive on another machine, unpack its cifar-10-batches-bin/ folder here " +
    "and pass it with --data or HAAT_DATA";
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(
      `Cannot download CIFAR-10 from ${url}: ${(e as Error).message} (no connection to that host?). ` +
        `Check the network and retry, ${elsewhere}`,
    );
  }
  if (!response.ok || response.body === null) {
    throw new Error(`Cannot download CIFAR-10 from ${url}: HTTP ${response.status}. Retry later, ${elsewhere}`);
  }
  const total = Number(response.headers.get("content-length") ?? 0);
  const chunks: Uint8Array[] = [];
  let received = 0, lastDraw = 0;
  const encoder = new TextEncoder();
  try {
    for await (const chunk of response.body) {
      chunks.push(chunk);
      received += chunk.length;
      if (performance.now() - lastDraw > 200) {
        lastDraw = performance.now();
        const frac = total ? received / total : 0;
        const bar = "#".repeat(Math.round(frac * 30)).padEnd(30, ".");
        await Deno.stderr.write(
          encoder.encode(
            `\r[${bar}] ${(received / 2 ** 20).toFixed(1)} MiB${total ? ` of ${(total / 2 ** 20).toFixed(1)}` : ""}`,
          ),
        );
      }
    }
  } catch (e) {
    throw new Error(
      `Cannot download CIFAR-10 from ${url}: the connection broke after ${received} bytes: ${(e as Error).message}. ` +
        `Retry, ${elsewhere}`,
    );
  }
  await Deno.stderr.write(encoder.encode(`\r[${"#".repeat(30)}] ${(received / 2 ** 20).toFixed(1)} MiB\n`));
  const official = "is the URL the CIFAR-10 binary archive (cifar-10-binary.tar.gz) or a copy of it?";
  let tar: Uint8Array;
  try {
    const gz = new Blob(chunks as Uint8Array<ArrayBuffer>[]).stream().pipeThrough(new DecompressionStream("gzip"));
    tar = new Uint8Array(await new Response(gz).arrayBuffer());
  } catch (e) {
    throw new Error(
      `Cannot unpack what ${url} sent (${received} bytes) as it is not a whole gzip file ` +
        `(${(e as Error).message}): ${official}`,
    );
  }
  const files = new Map<string, Uint8Array>();
  try {
    for (const [path, bytes] of untar(tar)) files.set(path.split("/").pop()!, bytes);
  } catch (e) {
    throw new Error(
      `Cannot unpack what ${url} sent as its gzip holds no tar archive: ${(e as Error).message}; ${official}`,
    );
  }
  try {
    await verifyOfficialFiles(files);
  } catch (e) {
    throw new Error(`${(e as Error).message} in what ${url} sent: ${official}`);
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const name of [...Object.keys(PREFIX_SHA256), "batches.meta.txt"]) {
    const bytes = files.get(name);
    if (bytes) await writeFileAtomic(`${dir}/${name}`, bytes);
  }
}
