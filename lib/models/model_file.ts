/**
 * The files of a saved ResNet18 (SPEC section 3): `model.json` (the config and where each tensor lies) and
 * `weights-<hash>.bin` (the values end to end, float32 or float16), how they are written, and the checks a
 * file passes before `loadModel()` builds a model from it.
 *
 * @module
 */
import { writeFileAtomic } from "../io/atomic.ts";
import { sha256Hex } from "../io/sha256.ts";
import { float16Bytes, float32FromFloat16Bytes } from "../io/float16.ts";
import { expectedTrainedModel } from "./trained.ts";
import type { ResNet18, ResNet18Config } from "./resnet18.ts";

/** What `model.json` holds. */
export interface WeightManifest {
  format: "haat-resnet18";
  version: 1;
  config: ResNet18Config;
  /** How the values are stored; absent in files written before float16 existed: float32. */
  dtype?: WeightDtype;
  weightsFile: string;
  tensors: { name: string; shape: number[]; offset: number }[];
}

/** How a weights file stores its values: 4 or 2 bytes each, little-endian. */
export type WeightDtype = "float32" | "float16";

/** Options of `saveModel()`. */
export interface SaveModelOptions {
  /**
   * `"float16"` halves the file (IEEE binary16, rounded to nearest; values are widened back to float32
   * when loaded). A trained model's accuracy barely moves (results/README.md gives the check).
   * @default "float32"
   */
  dtype?: WeightDtype;
}

/**
 * Writes a model to directory `dir`: `weights-<hash>.bin` (float32 or float16, little-endian; the
 * hash is the first 16 hex digits of the file's SHA-256) first, then `model.json` naming it, each
 * atomically; older weight files are removed last. A crash at any point leaves a `model.json` that
 * names a complete weights file.
 *
 * @param model The model to save.
 * @param dir Destination directory (created if missing).
 * @param options `dtype`.
 * @throws {Error} For a dtype other than float32 and float16, or a value float16 cannot hold (beyond
 *   +-65504), before anything is written.
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { loadModel, resnet18, useBackend } from "../../mod.ts";
 * await useBackend("cpu");
 * const dir = await Deno.makeTempDir();
 * const model = resnet18({ width: 2 });
 * await model.save(dir, { dtype: "float16" });
 * const weights = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".bin"))!.name;
 * const values = [...model.trainableVariables, ...model.statistics].reduce((sum, v) => sum + v.size, 0);
 * assertEquals(Deno.statSync(`${dir}/${weights}`).size, 2 * values); // 2 bytes a value
 * const loaded = await loadModel(dir);
 * assertEquals(loaded.parameterCount(), model.parameterCount());
 * model.dispose();
 * loaded.dispose();
 * ```
 */
export async function saveModel(model: ResNet18, dir: string, options: SaveModelOptions = {}): Promise<void> {
  const dtype = options.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float16") {
    throw new Error(`Cannot save model as dtype must be float32 or float16: current value is ${dtype}`);
  }
  const all = [...model.trainableVariables, ...model.statistics];
  const total = all.reduce((s, v) => s + v.size, 0);
  const buffer = new Float32Array(total);
  const tensors: WeightManifest["tensors"] = [];
  let offset = 0;
  for (const [i, v] of all.entries()) {
    buffer.set(await v.data() as Float32Array, offset);
    tensors.push({
      name: i < model.trainableVariables.length ? `w${i}` : `s${i - model.trainableVariables.length}`,
      shape: v.shape,
      offset,
    });
    offset += v.size;
  }
  const bytes = dtype === "float16" ? float16Bytes(buffer) : new Uint8Array(buffer.buffer);
  await Deno.mkdir(dir, { recursive: true });
  const hash = (await sha256Hex(bytes)).slice(0, 16);
  const weightsFile = `weights-${hash}.bin`;
  await writeFileAtomic(`${dir}/${weightsFile}`, bytes);
  const manifest: WeightManifest = {
    format: "haat-resnet18",
    version: 1,
    config: model.config,
    ...(dtype === "float16" ? { dtype } : {}),
    weightsFile,
    tensors,
  };
  await writeFileAtomic(`${dir}/model.json`, JSON.stringify(manifest, null, 1));
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith("weights-") && entry.name.endsWith(".bin") && entry.name !== weightsFile) {
      await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
    }
  }
}

/** Names of weight files: `weights-` and the first 16 hex digits of the file's SHA-256. */
const WEIGHTS_FILE = /^weights-([0-9a-f]{16})\.bin$/;

/** The bytes of a local file, or of an http(s) URL. */
async function readLocation(location: string): Promise<Uint8Array> {
  if (!/^https?:\/\//.test(location)) return await Deno.readFile(location);
  const response = await fetch(location);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** A model's files once read and checked: where they came from, what `model.json` says, and the values. */
export interface ModelFile {
  /** The directory or URL, without a trailing slash. */
  dir: string;
  /** The weights file's path or URL. */
  path: string;
  /** `model.json`, parsed. */
  manifest: WeightManifest;
  /** Every value, widened to float32, in the order `manifest.tensors` lists them. */
  floats: Float32Array;
}

/**
 * Reads `model.json` and its weights file and checks them, as `loadModel()` documents: the weights file must
 * hold as many values as `model.json` lists, its SHA-256 must begin with the digits of its name, every value
 * must be finite, and a committed model must be the one `TRAINED_MODELS` lists.
 *
 * @param location Directory holding `model.json` and its weights file, or the http(s) URL of one.
 * @returns The checked files.
 * @throws {Error} Naming the file, for any failed check.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readModelFile } from "./model_file.ts";
 * await assert.rejects(readModelFile("/nonexistent"), /model\.json is missing/);
 * ```
 */
export async function readModelFile(location: string): Promise<ModelFile> {
  const dir = location.replace(/\/+$/, "");
  let manifest: WeightManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(await readLocation(`${dir}/model.json`)));
  } catch (e) {
    throw new Error(`Cannot load model as ${dir}/model.json is missing or not JSON: ${(e as Error).message}`);
  }
  if (manifest === null || typeof manifest !== "object" || manifest.format !== "haat-resnet18") {
    throw new Error(`Cannot load model as ${dir}/model.json is not a haat ResNet18: format is ${manifest?.format}`);
  }
  const dtype = manifest.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float16") {
    throw new Error(`Cannot load model as ${dir}/model.json has dtype float32 or float16: current value is ${dtype}`);
  }
  const named = typeof manifest.weightsFile === "string" ? manifest.weightsFile.match(WEIGHTS_FILE) : null;
  if (!named || !Array.isArray(manifest.tensors)) {
    throw new Error(
      `Cannot load model as ${dir}/model.json names no weights file of the form weights-<16 hex digits>.bin: ` +
        `current value is ${manifest.weightsFile}`,
    );
  }
  const committed = expectedTrainedModel(dir);
  if (committed) {
    const { run, info } = committed;
    if (manifest.config?.width !== info.width || manifest.weightsFile !== info.weightsFile) {
      throw new Error(
        `Cannot load model as ${dir}/model.json is not the committed ${run}: it names ${manifest.weightsFile} of a ` +
          `width-${manifest.config?.width} ResNet18, expected ${info.weightsFile} (${info.bytes} bytes) of width ${info.width}`,
      );
    }
  }
  const values = manifest.tensors.reduce(
    (sum, t) => sum + (Array.isArray(t?.shape) ? t.shape.reduce((p: number, d: number) => p * d, 1) : NaN),
    0,
  );
  if (!Number.isSafeInteger(values)) {
    throw new Error(`Cannot load model as ${dir}/model.json lists tensors without valid shapes`);
  }
  const path = `${dir}/${manifest.weightsFile}`;
  let bytes: Uint8Array;
  try {
    bytes = await readLocation(path);
  } catch (e) {
    throw new Error(`Cannot load model as its weights file ${path} is missing or unreadable: ${(e as Error).message}`);
  }
  const expectedBytes = values * (dtype === "float16" ? 2 : 4);
  const hash = (await sha256Hex(bytes)).slice(0, 16);
  if (bytes.byteLength !== expectedBytes) {
    if (hash === named[1]) {
      throw new Error(
        `Cannot load model as ${dir}/model.json does not match its weights file: it lists ${values} ${dtype} ` +
          `values (${expectedBytes} bytes), and ${path}, intact, holds ${bytes.byteLength} bytes`,
      );
    }
    throw new Error(
      `Cannot load model as ${path} is ${bytes.byteLength < expectedBytes ? "truncated" : "the wrong size"}: ` +
        `${bytes.byteLength} bytes, expected ${expectedBytes} (${values} ${dtype} values, as model.json lists)`,
    );
  }
  if (hash !== named[1]) {
    throw new Error(`Cannot load model as ${path} is corrupted: its SHA-256 begins ${hash}, its name says ${named[1]}`);
  }
  const floats = dtype === "float16" ? float32FromFloat16Bytes(bytes) : new Float32Array(bytes.slice().buffer);
  const bad = floats.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new Error(`Cannot load model as ${path} holds a value that is not finite: ${floats[bad]} at float ${bad}`);
  }
  return { dir, path, manifest, floats };
}
