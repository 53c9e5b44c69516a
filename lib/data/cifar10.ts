/**
 * CIFAR-10 in the official binary layout (`cifar-10-batches-bin`): records of 3,073 bytes, one label
 * byte (0-9) then 1,024 red, 1,024 green and 1,024 blue bytes, each 32x32 row-major. Any whole number
 * of records per file is accepted (the shared subset holds fewer than 10,000).
 *
 * @module
 */
import { sha256Hex } from "../io/sha256.ts";
import { readEnv } from "../env.ts";

/** Bytes in one record: 1 label + 3 x 32 x 32 pixels. */
export const RECORD_BYTES = 3073;
/** Pixels per image and channel. */
const PLANE = 1024;
/** The training files, in order. */
export const TRAIN_FILES = [
  "data_batch_1.bin",
  "data_batch_2.bin",
  "data_batch_3.bin",
  "data_batch_4.bin",
  "data_batch_5.bin",
] as const;
/** The test file. */
export const TEST_FILES = ["test_batch.bin"] as const;
/** Class names of CIFAR-10, by label. */
export const CIFAR10_CLASSES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
] as const;

/**
 * Images as bytes, kept out of the TensorFlow.js heap until a batch needs them. `images` holds
 * `size` images NHWC (32 x 32 x 3, RGB) as bytes 0..255; divide by 255 for the [0,1] pixel scale.
 */
export interface Dataset {
  /** NHWC uint8 pixels, size x 32 x 32 x 3. */
  images: Uint8Array;
  /** Labels 0..9. */
  labels: Int32Array;
  /** Number of images. */
  size: number;
  /** Class names by label. */
  classNames: readonly string[];
  /** The records read, file by file, with their SHA-256 (set by `loadCifar10`; absent for subsets). */
  sources?: DataSource[];
}

/**
 * Which records of which file a dataset was read from: the first `records` records of `file`, whose
 * bytes hash to `sha256`. Check by hand with `head -c $((records * 3073)) file | sha256sum`.
 */
export interface DataSource {
  /** File name, without its directory (e.g. `data_batch_1.bin`). */
  file: string;
  /** Records read from the start of the file. */
  records: number;
  /** Hex SHA-256 of those records' bytes. */
  sha256: string;
}

/** Options of `loadCifar10`. */
export interface LoadCifar10Options {
  /** Keep only the first `limit` images (after concatenating the files in order): an integer >= 1. @default all */
  limit?: number;
}

/**
 * Decodes records of the official binary layout into NHWC bytes and labels.
 *
 * @param bytes Whole records, concatenated.
 * @param source Name used in error messages.
 * @returns The images and labels.
 * @throws {Error} If the length is not a whole number of records or a label is outside 0..9.
 */
export function decodeRecords(bytes: Uint8Array, source = "input"): { images: Uint8Array; labels: Int32Array } {
  if (bytes.length % RECORD_BYTES !== 0) {
    throw new Error(
      `Cannot read CIFAR-10 file ${source} as its size is not a whole number of ${RECORD_BYTES}-byte records: ` +
        `${bytes.length} bytes (${Math.floor(bytes.length / RECORD_BYTES)} records and ${
          bytes.length % RECORD_BYTES
        } bytes left over)`,
    );
  }
  const n = bytes.length / RECORD_BYTES;
  const images = new Uint8Array(n * 3 * PLANE);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * RECORD_BYTES;
    const label = bytes[base];
    if (label > 9) {
      throw new Error(`Cannot read CIFAR-10 file ${source} as record ${r} has a label outside 0..9: ${label}`);
    }
    labels[r] = label;
    const out = r * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      images[out + 3 * p] = bytes[base + 1 + p];
      images[out + 3 * p + 1] = bytes[base + 1 + PLANE + p];
      images[out + 3 * p + 2] = bytes[base + 1 + 2 * PLANE + p];
    }
  }
  return { images, labels };
}

/** Throws unless `dir` is a directory, with a message that says what it is instead. */
async function checkDirectory(dir: string): Promise<void> {
  const hint = "(set HAAT_DATA or --data, or run deno task data)";
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot load CIFAR-10 as the data directory is missing: ${dir} ${hint}`);
    }
    throw new Error(`Cannot load CIFAR-10 as the data directory is not readable: ${dir}: ${(e as Error).message}`);
  }
  if (!info.isDirectory) {
    throw new Error(`Cannot load CIFAR-10 as the data directory is not a directory: ${dir} ${hint}`);
  }
}

/** Reads one data file, with a message that tells missing, not a file and not readable apart. */
async function readDataFile(path: string, split: string): Promise<Uint8Array> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot load CIFAR-10 as a file of the ${split} split is missing: ${path}`);
    }
    throw new Error(
      `Cannot load CIFAR-10 as a file of the ${split} split is not readable: ${path}: ${(e as Error).message}`,
    );
  }
  if (!info.isFile) {
    throw new Error(`Cannot load CIFAR-10 as ${path} is not a regular file (it is a directory or other)`);
  }
  if (info.size === 0) throw new Error(`Cannot load CIFAR-10 as ${path} is empty: 0 bytes, no record`);
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new Error(
      `Cannot load CIFAR-10 as a file of the ${split} split is not readable: ${path}: ${(e as Error).message}`,
    );
  }
}

/**
 * Reads the train or test split of CIFAR-10 from any directory in the official binary layout (the
 * official release, or the shared subset with fewer records per file).
 *
 * @param dir Directory holding `data_batch_1.bin` ... `data_batch_5.bin` and `test_batch.bin`.
 * @param split `"train"` (the five data batches, in order) or `"test"`.
 * @param options `limit`: keep the first n images.
 * @returns The images (NHWC bytes), labels, class names, and in `sources` the SHA-256 of the records read.
 * @throws {Error} If the directory or a file is missing, not readable or of the wrong kind, a file is
 *   empty or not whole records, a label is bad, or limit is not an integer >= 1.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { loadCifar10 } from "../../mod.ts";
 * // Two records of 3,073 bytes: a label byte, then the image's planes (R, G, B) of 32 x 32 bytes.
 * const dir = await Deno.makeTempDir();
 * const records = new Uint8Array(2 * 3073);
 * records[0] = 3;
 * records[3073] = 8;
 * records[3074] = 255; // the second image: red, pixel (0, 0)
 * await Deno.writeFile(`${dir}/test_batch.bin`, records);
 * const test = await loadCifar10(dir, "test");
 * assert.strictEqual(test.size, 2);
 * assert.deepStrictEqual(Array.from(test.labels), [3, 8]);
 * assert.strictEqual(test.images[32 * 32 * 3], 255); // NHWC: image 1, pixel (0, 0), red
 * assert.strictEqual(test.classNames[3], "cat");
 * ```
 */
export async function loadCifar10(
  dir: string,
  split: "train" | "test",
  options: LoadCifar10Options = {},
): Promise<Dataset> {
  if (split !== "train" && split !== "test") {
    throw new Error(`Cannot load CIFAR-10 as split must be "train" or "test": current value is ${split}`);
  }
  const limit = options.limit ?? Infinity;
  if (!((Number.isInteger(limit) && limit >= 1) || limit === Infinity)) {
    throw new Error(`Cannot load CIFAR-10 as limit must be an integer >= 1: current value is ${limit}`);
  }
  await checkDirectory(dir);
  const files = split === "train" ? TRAIN_FILES : TEST_FILES;
  const parts: { images: Uint8Array; labels: Int32Array }[] = [];
  const sources: DataSource[] = [];
  let total = 0;
  for (const name of files) {
    if (total >= limit) break;
    const path = `${dir}/${name}`;
    let bytes = await readDataFile(path, split);
    if (bytes.length % RECORD_BYTES === 0 && isFinite(limit)) {
      bytes = bytes.subarray(0, Math.min(bytes.length, (limit - total) * RECORD_BYTES));
    }
    const part = decodeRecords(bytes, path);
    parts.push(part);
    sources.push({ file: name, records: part.labels.length, sha256: await sha256Hex(bytes) });
    total += part.labels.length;
  }
  const size = Math.min(total, limit);
  const images = new Uint8Array(size * 3 * PLANE);
  const labels = new Int32Array(size);
  let at = 0;
  for (const part of parts) {
    const take = Math.min(part.labels.length, size - at);
    images.set(part.images.subarray(0, take * 3 * PLANE), at * 3 * PLANE);
    labels.set(part.labels.subarray(0, take), at);
    at += take;
  }
  return { images, labels, size, classNames: CIFAR10_CLASSES, sources };
}

/**
 * The data directory: `HAAT_DATA` if set, else `../shared/data/cifar10` beside the current directory
 * when present, else `./data/cifar10` (where `deno task data` writes).
 *
 * @returns A directory path (it may not exist).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { defaultDataDir } from "./cifar10.ts";
 * // Tests run in parallel in one process: read, never set, the environment here.
 * const dir = defaultDataDir();
 * assert.ok(dir === Deno.env.get("HAAT_DATA") || ["../shared/data/cifar10", "data/cifar10"].includes(dir));
 * ```
 */
export function defaultDataDir(): string {
  const fromEnv = readEnv("HAAT_DATA");
  if (fromEnv) return fromEnv;
  for (const candidate of ["../shared/data/cifar10", "data/cifar10"]) {
    try {
      if (Deno.statSync(`${candidate}/test_batch.bin`).isFile) return candidate;
    } catch { /* try the next */ }
  }
  return "data/cifar10";
}
