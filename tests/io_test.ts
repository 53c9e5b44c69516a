import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { float16Bytes, float32FromFloat16Bytes, fromFloat16Bits, toFloat16Bits } from "../lib/io/float16.ts";
import { crc32, encodePng } from "../lib/io/png.ts";
import { downloadCifar10, PREFIX_SHA256, untar, verifyOfficialFiles } from "../lib/data/download.ts";
import { removeTempFiles, writeFileAtomic } from "../lib/io/atomic.ts";
import { LOCK_FILE, lockDirectory } from "../lib/io/lock.ts";
import { holdLock } from "./_helpers.ts";

Deno.test("crc32() gives the check value of the CRC-32 standard", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("encodePng() writes a PNG whose image data inflates back to the pixels", async () => {
  const rgb = Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => i * 10);
  const png = await encodePng(rgb, 2, 3);
  assertEquals(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(png.buffer);
  assertEquals([view.getUint32(16), view.getUint32(20)], [2, 3]);
  const idatLength = view.getUint32(33);
  const idat = png.subarray(41, 41 + idatLength);
  const raw = new Uint8Array(
    await new Response(
      new Blob([idat as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("deflate")),
    ).arrayBuffer(),
  );
  assertEquals(raw.length, 3 * (1 + 6));
  assertEquals(Array.from(raw.subarray(1, 7)), Array.from(rgb.subarray(0, 6)));
});

function tarEntry(name: string, data: Uint8Array): Uint8Array {
  const header = new Uint8Array(512);
  header.set(new TextEncoder().encode(name), 0);
  header.set(new TextEncoder().encode(data.length.toString(8).padStart(11, "0")), 124);
  header[156] = "0".charCodeAt(0);
  // The header checksum, as tar writes it: the sum of the header's bytes with its own field as spaces.
  header.fill(32, 148, 156);
  const sum = header.reduce((s, b) => s + b, 0);
  header.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  const out = new Uint8Array(512 + Math.ceil(data.length / 512) * 512);
  out.set(header);
  out.set(data, 512);
  return out;
}

Deno.test("untar() lists the files of an archive, and verifyOfficialFiles() rejects files that are not the official ones", async () => {
  const a = tarEntry("cifar-10-batches-bin/test_batch.bin", new Uint8Array(1000).fill(7));
  const b = tarEntry("cifar-10-batches-bin/readme.html", new TextEncoder().encode("hi"));
  const tar = new Uint8Array(a.length + b.length + 1024);
  tar.set(a);
  tar.set(b, a.length);
  const files = untar(tar);
  assertEquals([...files.keys()], ["cifar-10-batches-bin/test_batch.bin", "cifar-10-batches-bin/readme.html"]);
  assertEquals(files.get("cifar-10-batches-bin/test_batch.bin")!.length, 1000);
  // A header with one byte changed, and bytes that are no tar archive at all, are refused, not read as names.
  const damaged = tar.slice();
  damaged[3] ^= 1;
  assertThrows(() => untar(damaged), /the 512 bytes at byte 0 are not a tar header \(their checksum does not match\)/);
  const noise = Uint8Array.from({ length: 2048 }, (_, i) => (i * 7919 + 13) % 256);
  assertThrows(() => untar(noise), /are not a tar header/);
  await assertRejects(() => verifyOfficialFiles(new Map()), /data_batch_1\.bin is missing/);
  const wrong = new Map(Object.keys(PREFIX_SHA256).map((n) => [n, new Uint8Array(10000 * 3073)]));
  await assertRejects(() => verifyOfficialFiles(wrong), /does not match the official content/);
});

Deno.test("writeFileAtomic() replaces a file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  await writeFileAtomic(`${dir}/f.json`, "old");
  await writeFileAtomic(`${dir}/f.json`, "new");
  assertEquals(await Deno.readTextFile(`${dir}/f.json`), "new");
  assert([...Deno.readDirSync(dir)].length === 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic() names the path when a write fails, and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(() => writeFileAtomic(`${dir}/missing/f.json`, "x"), /^Cannot write .*\/missing\/f\.json: /);
  // A directory where the file should go: the rename fails after the temporary file was written.
  await Deno.mkdir(`${dir}/taken`);
  await Deno.writeTextFile(`${dir}/taken/inside`, "keep");
  await assertRejects(() => writeFileAtomic(`${dir}/taken`, "x"), /^Cannot write .*\/taken: /);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["taken"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("removeTempFiles() removes the leftovers of interrupted atomic writes, in subdirectories too, and nothing else", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/checkpoints/epoch-001`, { recursive: true });
  const leftovers = [
    `${dir}/metrics.jsonl.tmp-123-0a1b2c3d`,
    `${dir}/checkpoints/epoch-001/optimizer.bin.tmp-9-ffffffff`,
  ];
  const kept = [`${dir}/metrics.jsonl`, `${dir}/notes.tmp-draft`, `${dir}/checkpoints/epoch-001/state.json`];
  for (const path of [...leftovers, ...kept]) await Deno.writeTextFile(path, "x");
  assertEquals((await removeTempFiles(dir)).sort(), leftovers.sort());
  for (const path of kept) assert((await Deno.stat(path)).isFile, `${path} was kept`);
  assertEquals(await removeTempFiles(`${dir}/nope`), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("downloadCifar10() offline names the URL and says what to do, and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  // Port 9 (discard) on the loopback interface: nothing listens, the connection is refused at once.
  await assertRejects(
    () => downloadCifar10(`${dir}/out`, "http://127.0.0.1:9/cifar-10-binary.tar.gz"),
    /^Cannot download CIFAR-10 from http:\/\/127\.0\.0\.1:9\/cifar-10-binary\.tar\.gz: .*Check the network and retry, or fetch the archive on another machine/,
  );
  assertEquals([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("toFloat16Bits() and fromFloat16Bits() are IEEE binary16: every value round-trips, rounding is to nearest even", () => {
  let roundTrips = 0;
  for (let bits = 0; bits < 65536; bits++) {
    const v = fromFloat16Bits(bits);
    if (Number.isNaN(v)) {
      assert(Number.isNaN(fromFloat16Bits(toFloat16Bits(v))));
      continue;
    }
    assertEquals(toFloat16Bits(v), bits, `bits ${bits.toString(16)}`);
    roundTrips++;
  }
  assertEquals(roundTrips, 65536 - 2 * 1023); // all but the NaNs (exponent 31, fraction not 0, both signs)
  // Known values: 1, the largest finite, the smallest normal and subnormal, infinities.
  assertEquals([0x3c00, 0x7bff, 0x0400, 0x0001, 0x7c00].map(fromFloat16Bits), [1, 65504, 2 ** -14, 2 ** -24, Infinity]);
  // Ties go to the even neighbour: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
  assertEquals(toFloat16Bits(1 + 2 ** -11), 0x3c00);
  assertEquals(toFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
  assertEquals(toFloat16Bits(2 ** -25), 0); // halfway to the smallest subnormal: to even, zero
  assertEquals(toFloat16Bits(3 * 2 ** -26), 0x0001);
  assertEquals(toFloat16Bits(65520), 0x7c00); // halfway past the largest finite: infinity
  // Nearest: no neighbour of the chosen value is closer, over a spread of magnitudes.
  for (let i = 0; i < 20000; i++) {
    const v = Math.fround(Math.sin(i * 12.9898) * 2 ** ((i % 40) - 26));
    const h = toFloat16Bits(v), chosen = Math.abs(fromFloat16Bits(h) - v);
    for (const n of [h - 1, h + 1]) {
      if ((n & 0x8000) !== (h & 0x8000) || (n & 0x7fff) >= 0x7c00) continue;
      assert(Math.abs(fromFloat16Bits(n) - v) >= chosen, `${v}: ${h} is not the nearest`);
    }
  }
});

Deno.test("float16Bytes() refuses what binary16 cannot hold, naming the index; float32FromFloat16Bytes() an odd length", () => {
  assertThrows(
    () => float16Bytes(new Float32Array([1, 70000])),
    /value 1 is not finite or beyond \+-65504: current value is 70000/,
  );
  assertThrows(() => float16Bytes(new Float32Array([NaN])), /value 0 is not finite/);
  assertThrows(() => float32FromFloat16Bytes(new Uint8Array(3)), /byte count is odd: current value is 3/);
  assertEquals([...float32FromFloat16Bytes(float16Bytes(new Float32Array([-65504, 0.1, 2 ** -24])))], [
    -65504,
    Math.fround(0.0999755859375),
    2 ** -24,
  ]);
});

Deno.test("lockDirectory() refuses while another process holds the lock, and takes over a killed process's lock", async () => {
  const dir = await Deno.makeTempDir();
  const holder = await holdLock(dir);
  const held = JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`));
  assertEquals([held.pid, held.activity], [holder.pid, "a test's holder"]);
  await assertRejects(
    () => lockDirectory(dir, "a test", "resume the test run"),
    new RegExp(
      `Cannot resume the test run as another process works in .* \\(pid ${holder.pid}, a test's holder since `,
    ),
  );
  await holder.kill();
  // The killed holder's file is still there, but its lock went with the process.
  assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`)).pid, holder.pid);
  const lock = await lockDirectory(dir, "a test", "take the lock");
  assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`)).pid, Deno.pid);
  // Taken again in the same process (the demo trains, then evaluates): the file stays until the last release.
  const again = await lockDirectory(dir, "a test", "take it again");
  lock.release();
  lock.release(); // a second release of the same take does nothing
  await Deno.stat(`${dir}/${LOCK_FILE}`);
  again.release();
  await assertRejects(() => Deno.stat(`${dir}/${LOCK_FILE}`), /No such file|not found/i);
  // Released: another process takes it at once.
  const next = await holdLock(dir);
  await next.kill();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("untar() reads an archive that tar(1) wrote", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/cifar-10-batches-bin`);
  await Deno.writeFile(`${dir}/cifar-10-batches-bin/test_batch.bin`, new Uint8Array(3073).fill(5));
  const out = await new Deno.Command("tar", { args: ["-C", dir, "-cf", "-", "cifar-10-batches-bin"] }).output();
  assert(out.success, "tar failed");
  const files = untar(out.stdout);
  assertEquals(files.get("cifar-10-batches-bin/test_batch.bin")?.length, 3073);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("downloadCifar10() names the URL and the archive it expected for a file that is not gzip, or a gzip that is not tar", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/page.html`, "<html>not found</html>");
  const gz = new Blob([Uint8Array.from({ length: 4000 }, (_, i) => (i * 31) % 251)]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  await Deno.writeFile(`${dir}/noise.gz`, new Uint8Array(await new Response(gz).arrayBuffer()));
  await assertRejects(
    () => downloadCifar10(`${dir}/out`, `file://${dir}/page.html`),
    /Cannot unpack what file:\/\/.*page\.html sent \(22 bytes\) as it is not a whole gzip file .*: is the URL the CIFAR-10 binary archive \(cifar-10-binary\.tar\.gz\)/,
  );
  await assertRejects(
    () => downloadCifar10(`${dir}/out`, `file://${dir}/noise.gz`),
    /Cannot unpack what file:\/\/.*noise\.gz sent as its gzip holds no tar archive: Cannot read tar archive as the 512 bytes at byte 0 are not a tar header/,
  );
  await assertRejects(() => Deno.stat(`${dir}/out`), /No such file|not found/i);
  await Deno.remove(dir, { recursive: true });
});
