import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { batches, type Dataset, loadCifar10, splitValidation, tf, toTensors } from "../../mod.ts";
import { decodeRecords, RECORD_BYTES } from "../../lib/data/cifar10.ts";
import { subset } from "../../lib/data/batches.ts";
import { HAS_SHARED_DATA, setup, SHARED_DATA } from "../_helpers.ts";
import { sha256Hex } from "../../lib/io/sha256.ts";

/** The full official-layout CIFAR-10 (all 60,000 images), if present. */
const FULL_DATA = new URL("../../../shared/data/cifar10-full", import.meta.url).pathname;
const HAS_FULL_DATA = (() => {
  try {
    return Deno.statSync(`${FULL_DATA}/test_batch.bin`).isFile;
  } catch {
    return false;
  }
})();

await setup();

/** A fixture file of n records with labels i % 10 and pixel bytes derived from (record, position). */
function fixture(n: number): Uint8Array {
  const bytes = new Uint8Array(n * RECORD_BYTES);
  for (let r = 0; r < n; r++) {
    bytes[r * RECORD_BYTES] = r % 10;
    for (let p = 1; p < RECORD_BYTES; p++) bytes[r * RECORD_BYTES + p] = (r * 7 + p) % 256;
  }
  return bytes;
}

Deno.test({
  name: "loadCifar10() reads the shared test split: per-class counts and first labels as its README says",
  ignore: !HAS_SHARED_DATA,
  fn: async () => {
    const test = await loadCifar10(SHARED_DATA, "test");
    assertEquals(test.size, 932);
    const counts = new Array(10).fill(0);
    for (const l of test.labels) counts[l]++;
    assertEquals(counts, [97, 78, 94, 95, 85, 84, 105, 96, 98, 100]);
    assertEquals(Array.from(test.labels.subarray(0, 16)), [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8]);
    assertEquals(test.classNames[3], "cat");
    const train = await loadCifar10(SHARED_DATA, "train");
    assertEquals(train.size, 7728);
    const trainCounts = new Array(10).fill(0);
    for (const l of train.labels) trainCounts[l]++;
    assertEquals(trainCounts, [779, 742, 771, 747, 822, 751, 776, 768, 794, 778]);
    const limited = await loadCifar10(SHARED_DATA, "train", { limit: 4100 });
    assertEquals(limited.size, 4100);
    assertEquals(Array.from(limited.labels.subarray(4000)), Array.from(train.labels.subarray(4000, 4100)));
  },
});

Deno.test("decodeRecords() puts the R, G, B planes of a record into NHWC order", () => {
  const bytes = new Uint8Array(RECORD_BYTES);
  bytes[0] = 7;
  bytes[1 + 5] = 11; // red plane, pixel 5
  bytes[1 + 1024 + 5] = 22; // green
  bytes[1 + 2048 + 5] = 33; // blue
  const { images, labels } = decodeRecords(bytes);
  assertEquals(labels[0], 7);
  assertEquals(Array.from(images.subarray(15, 18)), [11, 22, 33]);
});

Deno.test("loadCifar10() rejects a missing directory, a missing file, a truncated file and a bad label", async (t) => {
  const dir = await Deno.makeTempDir();
  await t.step("missing directory", async () => {
    await assertRejects(() => loadCifar10(`${dir}/nope`, "test"), /data directory is missing/);
  });
  await t.step("a regular file given as the directory: not a directory, not missing", async () => {
    await Deno.writeFile(`${dir}/file`, new Uint8Array(1));
    await assertRejects(() => loadCifar10(`${dir}/file`, "test"), /data directory is not a directory: .*\/file/);
  });
  await t.step("a directory named test_batch.bin: not a regular file, not missing", async () => {
    await Deno.mkdir(`${dir}/sub/test_batch.bin`, { recursive: true });
    await assertRejects(() => loadCifar10(`${dir}/sub`, "test"), /test_batch\.bin is not a regular file/);
  });
  await t.step({
    name: "an unreadable file: not readable, not missing",
    ignore: Deno.uid() === 0, // root reads any file
    fn: async () => {
      await Deno.mkdir(`${dir}/sub2`);
      await Deno.writeFile(`${dir}/sub2/test_batch.bin`, fixture(2));
      await Deno.chmod(`${dir}/sub2/test_batch.bin`, 0o000);
      await assertRejects(() => loadCifar10(`${dir}/sub2`, "test"), /is not readable: .*test_batch\.bin/);
    },
  });
  await t.step("an empty file: refused, not an empty dataset", async () => {
    await Deno.writeFile(`${dir}/test_batch.bin`, new Uint8Array(0));
    await assertRejects(() => loadCifar10(dir, "test"), /test_batch\.bin is empty: 0 bytes/);
    await Deno.remove(`${dir}/test_batch.bin`);
  });
  await t.step("a fractional or zero limit is refused as such, not blamed on the file", async () => {
    await Deno.writeFile(`${dir}/test_batch.bin`, fixture(3));
    await assertRejects(
      () => loadCifar10(dir, "test", { limit: 2.5 }),
      /limit must be an integer >= 1: current value is 2\.5/,
    );
    await assertRejects(
      () => loadCifar10(dir, "test", { limit: 0 }),
      /limit must be an integer >= 1: current value is 0/,
    );
    await Deno.remove(`${dir}/test_batch.bin`);
  });
  await t.step("missing file", async () => {
    await assertRejects(() => loadCifar10(dir, "test"), /file of the test split is missing: .*test_batch\.bin/);
  });
  await t.step("truncated file", async () => {
    await Deno.writeFile(`${dir}/test_batch.bin`, fixture(3).subarray(0, 3 * RECORD_BYTES - 100));
    await assertRejects(() => loadCifar10(dir, "test"), /not a whole number of 3073-byte records: 9119 bytes/);
    await assertRejects(() => loadCifar10(dir, "test", { limit: 1 }), /not a whole number/);
  });
  await t.step("bad label byte", async () => {
    const bytes = fixture(3);
    bytes[2 * RECORD_BYTES] = 10;
    await Deno.writeFile(`${dir}/test_batch.bin`, bytes);
    await assertRejects(() => loadCifar10(dir, "test"), /record 2 has a label outside 0\.\.9: 10/);
  });
  await t.step(
    "a good fixture of any whole number of records loads, with the SHA-256 of the records read",
    async () => {
      await Deno.writeFile(`${dir}/test_batch.bin`, fixture(13));
      const ds = await loadCifar10(dir, "test");
      assertEquals(ds.size, 13);
      assertEquals(ds.labels[12], 2);
      const five = await loadCifar10(dir, "test", { limit: 5 });
      assertEquals(five.sources, [{ file: "test_batch.bin", records: 5, sha256: await sha256Hex(fixture(5)) }]);
      assert(ds.sources![0].sha256 !== five.sources![0].sha256);
    },
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("splitValidation() holds out disjoint sets that together make the whole", () => {
  const { images, labels } = decodeRecords(fixture(50));
  const ds: Dataset = { images, labels, size: 50, classNames: [] };
  const { train, validation } = splitValidation(ds, { size: 10, seed: 3 });
  assertEquals(train.size + validation.size, 50);
  const key = (d: Dataset, i: number) => d.images.subarray(i * 3072, i * 3072 + 8).join(",");
  const seen = new Set<string>();
  for (let i = 0; i < train.size; i++) seen.add(key(train, i));
  for (let i = 0; i < validation.size; i++) assert(!seen.has(key(validation, i)));
  assertThrows(() => splitValidation(ds, { size: 50 }), /size must be an integer in \[0, 50\)/);
});

Deno.test("batches() is reproducible for a seed, covers every image once, and augments within the padded crop", () => {
  const { images, labels } = decodeRecords(fixture(20));
  const ds: Dataset = { images, labels, size: 20, classNames: [] };
  const collect = (seed: number, augment: boolean) => {
    const out: { x: Float32Array; idx: number[] }[] = [];
    for (const b of batches(ds, { batchSize: 8, shuffle: true, augment, seed })) {
      out.push({ x: b.x.dataSync() as Float32Array, idx: Array.from(b.indices) });
      tf.dispose([b.x, b.y]);
    }
    return out;
  };
  const a = collect(1, true), b = collect(1, true), c = collect(2, true);
  assertEquals(a.map((p) => p.idx), b.map((p) => p.idx));
  assertEquals(a[0].x, b[0].x);
  assert(JSON.stringify(a.map((p) => p.idx)) !== JSON.stringify(c.map((p) => p.idx)));
  assertEquals(a.flatMap((p) => p.idx).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
  // Without augmentation, pixels are bytes / 255 (in float32).
  const plain = collect(1, false);
  const first = subset(ds, [plain[0].idx[0]]);
  assertEquals(plain[0].x[0], Math.fround(first.images[0] / 255));
  // Resuming at batch 1 yields the same later batches (augmentation draws are replayed).
  const resumed: number[][] = [];
  for (const bt of batches(ds, { batchSize: 8, shuffle: true, augment: true, seed: 1, startBatch: 1 })) {
    resumed.push(Array.from(bt.x.dataSync().subarray(0, 50)));
    tf.dispose([bt.x, bt.y]);
  }
  assertEquals(resumed[0], Array.from(a[1].x.subarray(0, 50)));
});

Deno.test({
  name: "loadCifar10() reads the full 60,000-image folder too, and its exact records equal the shared subset's",
  ignore: !HAS_FULL_DATA || !HAS_SHARED_DATA,
  fn: async () => {
    const train = await loadCifar10(FULL_DATA, "train");
    assertEquals(train.size, 50000);
    assertEquals(train.sources!.map((s) => s.records), [10000, 10000, 10000, 10000, 10000]);
    const counts = new Array(10).fill(0);
    for (const l of train.labels) counts[l]++;
    assertEquals(counts, new Array(10).fill(5000)); // the official training set is balanced
    const test = await loadCifar10(FULL_DATA, "test");
    assertEquals(test.size, 10000);
    // The first 4,000 records of data_batch_1 are the official bytes in both folders.
    const [full, shared] = await Promise.all([
      loadCifar10(FULL_DATA, "train", { limit: 4000 }),
      loadCifar10(SHARED_DATA, "train", { limit: 4000 }),
    ]);
    assertEquals(full.sources, shared.sources);
    assertEquals(full.labels, shared.labels);
  },
});

Deno.test("batches(), splitValidation() and toTensors() refuse a seed, startBatch or index that no image answers to", () => {
  const data: Dataset = {
    images: new Uint8Array(5 * RECORD_BYTES),
    labels: Int32Array.from([0, 1, 2, 3, 4]),
    size: 5,
    classNames: "abcdefghij".split(""),
  };
  const before = tf.memory().numTensors;
  assertThrows(
    () => [...batches(data, { batchSize: 2, seed: 1.5 })],
    /Cannot make batches as seed must be an integer: current value is 1\.5/,
  );
  for (const startBatch of [-1, 1.5, 4, NaN]) {
    assertThrows(
      () => [...batches(data, { batchSize: 2, startBatch })],
      new RegExp(
        `startBatch must be an integer in 0\\.\\.3 \\(the batches there are\\): current value is ${startBatch}`,
      ),
    );
  }
  assertEquals([...batches(data, { batchSize: 2, startBatch: 3 })].length, 0); // an epoch that is done
  assertThrows(
    () => splitValidation(data, { size: 1, seed: NaN }),
    /Cannot split a validation set as seed must be an integer: current value is NaN/,
  );
  for (const index of [5, -1, 1.5, NaN]) {
    assertThrows(
      () => toTensors(data, [0, index]),
      new RegExp(`Cannot make tensors as index 1 must be an integer in 0\\.\\.4: current value is ${index}`),
    );
  }
  assertEquals(tf.memory().numTensors, before);
});
