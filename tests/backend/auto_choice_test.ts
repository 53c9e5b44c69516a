/**
 * The automatic choice of a GPU (issue 25 item 3): which adapters count as hardware, the choice from the
 * probe's two timings and its report (pure functions, with made-up adapters and timings); the probe step
 * itself; and on this machine, whose only adapter is Mesa's lavapipe (software), that `useBackend()`
 * keeps oneDNN and probes nothing, while the same choice with the software adapter allowed (as
 * `useBackend()` never does) probes both and keeps the faster.
 */
import { resnet18, tf, useBackend } from "../../mod.ts";
import {
  adapterLabel,
  classifyAdapter,
  probeChoice,
  probeReport,
  probeTrainingStep,
  probeWeightShapes,
} from "../../lib/backend/probe.ts";
import { chooseAutomatically } from "../../lib/backend/backend.ts";
import { findAdapter, findNativeBinding, gpuDeviceFiles } from "../../lib/backend/start.ts";
import { readEnv } from "../../lib/env.ts";
import { assert, assertEquals } from "../_assert.ts";
import { evalScript as run } from "../_helpers.ts";

const adapters = {
  lavapipe: {
    vendor: "65541",
    architecture: "",
    device: "0",
    description: "llvmpipe (LLVM 15.0.6, 256 bits)",
    isFallbackAdapter: true,
  },
  lavapipeNotFlagged: {
    vendor: "65541",
    architecture: "",
    device: "0",
    description: "llvmpipe (LLVM 17.0.6, 256 bits)",
  },
  swiftshader: { vendor: "6880", architecture: "", device: "49374", description: "SwiftShader Device (Subzero)" },
  warp: { vendor: "5140", architecture: "", device: "140", description: "Microsoft Basic Render Driver" },
  h100: {
    vendor: "4318",
    architecture: "",
    device: "8961",
    description: "NVIDIA H100 80GB HBM3",
    isFallbackAdapter: false,
  },
  radeon: { vendor: "4098", architecture: "rdna-3", device: "29772", description: "AMD Radeon RX 7900 XTX" },
  intel: { vendor: "32902", architecture: "", device: "42880", description: "Intel(R) Graphics (RPL-P)" },
  apple: { vendor: "apple", architecture: "metal-3", device: "", description: "Apple M2" },
  unnamed: { vendor: "4318", architecture: "", device: "7937", description: "" },
};

Deno.test("classifyAdapter() sorts adapters into software and hardware from what Deno says of them", async (t) => {
  for (const name of ["lavapipe", "lavapipeNotFlagged", "swiftshader", "warp"] as const) {
    await t.step(`${name} is software`, () => {
      const summary = classifyAdapter(adapters[name]);
      assert(summary.fallback, JSON.stringify(summary));
      assert(summary.softwareBecause !== "");
    });
  }
  for (const name of ["h100", "radeon", "intel", "apple", "unnamed"] as const) {
    await t.step(`${name} is hardware`, () => {
      const summary = classifyAdapter(adapters[name]);
      assertEquals([summary.fallback, summary.softwareBecause], [false, ""]);
    });
  }
  await t.step("the label names the description, the vendor and the architecture", () => {
    assertEquals(adapterLabel(classifyAdapter(adapters.h100)), "NVIDIA H100 80GB HBM3");
    assertEquals(adapterLabel(classifyAdapter(adapters.radeon)), "AMD Radeon RX 7900 XTX, rdna-3");
    assertEquals(adapterLabel(classifyAdapter(adapters.intel)), "Intel(R) Graphics (RPL-P)");
    assertEquals(adapterLabel(classifyAdapter(adapters.lavapipe)), "llvmpipe (LLVM 15.0.6, 256 bits), Mesa");
    assertEquals(adapterLabel(classifyAdapter(adapters.apple)), "Apple M2, vendor apple metal-3");
    assertEquals(adapterLabel(classifyAdapter(adapters.unnamed)), "device 7937, NVIDIA");
  });
});

Deno.test("probeChoice() picks the GPU only when its step was faster, and the CPU where a timing is missing", () => {
  assertEquals(probeChoice({ gpuSeconds: 0.02, cpuSeconds: 0.18 }), "webgpu");
  assertEquals(probeChoice({ gpuSeconds: 0.18, cpuSeconds: 0.02 }), "cpu");
  assertEquals(probeChoice({ gpuSeconds: 0.1, cpuSeconds: 0.1 }), "cpu"); // a tie keeps the CPU
  for (const bad of [NaN, Infinity, 0, -1]) assertEquals(probeChoice({ gpuSeconds: bad, cpuSeconds: 0.1 }), "cpu");
  assertEquals(probeChoice({ gpuSeconds: 0.1, cpuSeconds: NaN }), "webgpu");
});

Deno.test("probeReport() names the adapter and both timings, or why the GPU's step did not run", () => {
  const adapter = classifyAdapter(adapters.h100);
  const base = {
    cpuReport: "wasm + oneDNN 2.6.3 (avx2, 16 threads)",
    cpuLabel: "oneDNN",
    gpuDetail: "webgpu (NVIDIA H100 80GB HBM3)",
    adapter,
    cpuSeconds: 0.1504,
    failure: "",
  };
  assertEquals(
    probeReport({ ...base, choice: "webgpu", gpuSeconds: 0.0213 }).report,
    "webgpu (NVIDIA H100 80GB HBM3); probe step 0.0213 s, oneDNN 0.15 s",
  );
  const slower = probeReport({ ...base, choice: "cpu", gpuSeconds: 0.31 });
  assertEquals(
    slower.report,
    "wasm + oneDNN 2.6.3 (avx2, 16 threads); GPU not faster: probe step 0.31 s on NVIDIA H100 80GB HBM3, " +
      "oneDNN 0.15 s",
  );
  assert(slower.tried.includes("not faster than oneDNN"), slower.tried);
  const failed = probeReport({ ...base, choice: "cpu", gpuDetail: "", failure: "the webgpu backend did not start" });
  assertEquals(
    failed.report,
    "wasm + oneDNN 2.6.3 (avx2, 16 threads); GPU not used: NVIDIA H100 80GB HBM3: the webgpu backend did not start",
  );
});

Deno.test("probeTrainingStep() runs resnet18()'s weights, times a step and leaks no tensor", async () => {
  await useBackend();
  const model = resnet18({ width: 4 });
  assertEquals(probeWeightShapes(4), model.trainableVariables.map((v) => [...v.shape]));
  model.dispose();
  const before = tf.memory().numTensors;
  const probe = await probeTrainingStep({ width: 2, batch: 4, repeats: 2 });
  assertEquals(tf.memory().numTensors, before);
  assert(probe.seconds > 0 && probe.seconds < 30 && probe.warmupSeconds > 0, JSON.stringify(probe));
  assertEquals([probe.width, probe.batch], [2, 4]);
});

Deno.test({
  name: "useBackend() without a name keeps oneDNN and probes nothing where no hardware adapter exists",
  // Only where this machine has no GPU device: on one with a GPU the probe decides.
  ignore: (gpuDeviceFiles() ?? ["unknown"]).length > 0,
  fn: async () => {
    const mod = new URL("../../mod.ts", import.meta.url).href;
    const out = await run(
      `import { useBackend } from "${mod}";
const t0 = performance.now();
const info = await useBackend();
const ms = performance.now() - t0;
console.log("result: " + JSON.stringify({ name: info.name, probe: info.probe ?? null, report: info.report, tried: info.tried, ms }));`,
      { HAAT_THREADS: "1", HAAT_WEBGPU_SOFTWARE: "1" },
    );
    assertEquals(out.code, 0, out.output.slice(-2000));
    const line = out.output.split("\n").find((l) => l.startsWith("result: "));
    assert(line !== undefined, out.output.slice(-2000));
    const result = JSON.parse(line.slice("result: ".length));
    assertEquals([result.name, result.probe], ["onednn", null], line);
    assert(result.report.startsWith("wasm + oneDNN") && !result.report.includes(";"), result.report);
    const gpu = result.tried.find((t: { name: string }) => t.name === "webgpu");
    assert(gpu !== undefined && !gpu.ok && /no GPU device file/.test(gpu.detail), JSON.stringify(result.tried));
  },
});

const lavapipe = await findAdapter();
const hasSoftwareAdapter = !("reason" in lavapipe) && lavapipe.summary.fallback;
if (!hasSoftwareAdapter && readEnv("CI") === "true") throw new Error("No software WebGPU adapter (lavapipe) in CI");

Deno.test({
  name: "chooseAutomatically() keeps the CPU backend and starts no GPU where the only adapter is software",
  ignore: !hasSoftwareAdapter,
  fn: async () => {
    const cpu = await useBackend("onednn");
    const entry = { name: "webgpu" as const, ok: false, detail: "" };
    const chosen = await chooseAutomatically(cpu, entry, await findAdapter());
    assertEquals(chosen, cpu);
    assertEquals(tf.getBackend(), "wasm");
    assert(
      /is a software adapter \(a fallback \(CPU\) adapter\), never chosen automatically$/.test(entry.detail),
      entry.detail,
    );
  },
});

Deno.test({
  name:
    "chooseAutomatically() with the software adapter allowed probes both, keeps the faster and reports both timings",
  ignore: !hasSoftwareAdapter,
  sanitizeResources: false, // the webgpu backend keeps its device
  fn: async () => {
    const cpu = await useBackend("onednn");
    const before = tf.memory().numTensors;
    const entry = { name: "webgpu" as const, ok: false, detail: "" };
    const sizes = { width: 2, batch: 4, repeats: 1 };
    const chosen = await chooseAutomatically(cpu, entry, await findAdapter(), { allowSoftware: true, sizes });
    const probe = chosen.probe!;
    assert(probe.gpu !== undefined, entry.detail);
    assertEquals(probe.choice, probeChoice({ gpuSeconds: probe.gpu.seconds, cpuSeconds: probe.cpu.seconds }));
    assertEquals(chosen.name, probe.choice === "webgpu" ? "webgpu" : "onednn");
    assertEquals(tf.getBackend(), probe.choice === "webgpu" ? "webgpu" : "wasm");
    assertEquals(entry.ok, probe.choice === "webgpu");
    assert(chosen.report.includes("probe step") && chosen.report.includes("llvmpipe"), chosen.report);
    assertEquals(chosen.adapter?.fallback, true);
    console.log(`lavapipe against oneDNN (width 2, 4 images): ${chosen.report}`);
    assertEquals(tf.memory().numTensors, before);
    await useBackend("onednn");
  },
});

Deno.test({
  name: "chooseAutomatically() keeps the CPU backend and says why where WebGPU does not start on a hardware adapter",
  // A made-up hardware adapter: webgpu then starts on whatever adapter there is, which must not be hardware here.
  ignore: (gpuDeviceFiles() ?? ["unknown"]).length > 0,
  fn: async () => {
    const cpu = await useBackend("onednn");
    const entry = { name: "webgpu" as const, ok: false, detail: "" };
    const found = { adapter: undefined as unknown as GPUAdapter, summary: classifyAdapter(adapters.h100) };
    const chosen = await chooseAutomatically(cpu, entry, found, { sizes: { width: 2, batch: 4, repeats: 1 } });
    assertEquals([chosen.name, tf.getBackend(), chosen.probe?.gpu, chosen.probe?.choice], [
      "onednn",
      "wasm",
      undefined,
      "cpu",
    ]);
    assert(chosen.report.startsWith(`${cpu.report}; GPU not used: NVIDIA H100 80GB HBM3: `), chosen.report);
    assert(!entry.ok && entry.detail.startsWith("NVIDIA H100 80GB HBM3: "), entry.detail);
  },
});

Deno.test("findNativeBinding() finds tfjs-node-gpu's binding before tfjs-node's, in either node_modules layout", async () => {
  const root = await Deno.makeTempDir({ prefix: "haat-binding-" });
  try {
    assertEquals(findNativeBinding(root), undefined);
    const place = async (dir: string) => {
      await Deno.mkdir(`${root}/${dir}/napi-v8`, { recursive: true });
      await Deno.writeFile(`${root}/${dir}/napi-v8/tfjs_binding.node`, new Uint8Array(1));
      return `${root}/${dir}/napi-v8/tfjs_binding.node`;
    };
    const cpu = await place(
      `node_modules/.deno/@tensorflow+tfjs-node@${tf.version_core}/node_modules/@tensorflow/tfjs-node/lib`,
    );
    assertEquals(findNativeBinding(root), { pkg: "@tensorflow/tfjs-node", binding: cpu });
    const gpu = await place("node_modules/@tensorflow/tfjs-node-gpu/lib");
    assertEquals(findNativeBinding(root), { pkg: "@tensorflow/tfjs-node-gpu", binding: gpu });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
