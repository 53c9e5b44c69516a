/**
 * The GPU benchmark (issue 25 item 5): on WebGPU and beside it on oneDNN on the same machine, at each
 * width (default 16 and 64, batch 128), the PGD-10 attack alone and the standard, PGD-10 and HAAT-10
 * training steps, HAAT both cold (k 5, xi 1e-5) and warm (`warmStart`, k 5 at the first attack step and
 * `warmK` 1 after). One JSON line per measurement, as soon as it is measured, each naming the backend,
 * the adapter, the width, the batch and the seconds of one step; then one line per width and workload
 * with oneDNN's seconds over WebGPU's.
 *
 * Each backend runs in its own process (this file with `--backend`), one after the other, within a time
 * budget (`--budget`, default 300 s in all): each gets an equal share of what is left, runs the
 * workloads cheapest first (each at every width before the next) and skips one (saying so) where the
 * steps it already measured at that width show that it would not end inside its share; a process still
 * running at the end of its share is stopped.
 * Each workload has one warm-up (a 1-step attack, which compiles WebGPU's shaders and creates oneDNN's
 * primitives), then `--repeats` timed steps. The steps are `train`'s own (`bench/_step.ts`: the
 * asynchronous reads every backend runs), so a step's time includes the device's queued work. On oneDNN
 * a width-64 step of more than 64 images runs in micro-batches of 64 (the 2 GiB wasm heap); on WebGPU
 * nothing is split.
 *
 *   deno run -A bench/gpu/bench.ts                                  # webgpu, then onednn
 *   HAAT_WEBGPU_SOFTWARE=1 deno run -A bench/gpu/bench.ts --quick   # lavapipe, tiny sizes (a check)
 *
 * `bench/gpu/prepare.sh` and `bench/gpu/run.sh` take it to a GPU machine without network.
 *
 * @module
 */
import { type BackendInfo, type Objective, resnet18, tf, useBackend } from "../../mod.ts";
import { sgd } from "../../lib/train/sgd.ts";
import { heapMicroBatch } from "../../lib/train/config.ts";
import { adapterLabel } from "../../lib/backend/probe.ts";
import { numberFlag, parseFlags, runMain } from "../../cli/_flags.ts";
import { benchName, cpuModel, pgdAttack, type StepAttack, trainingStep } from "../_step.ts";

const flags = parseFlags("Usage: deno run -A bench/gpu/bench.ts [flags]", {
  backends: { type: "string", default: "webgpu,onednn", help: "backends, each in its own process, in this order" },
  widths: { type: "string", default: "16,64", help: "ResNet18 widths" },
  batch: { type: "string", default: "128", help: "batch size" },
  repeats: { type: "string", default: "1", help: "timed steps after each workload's warm-up" },
  steps: { type: "string", default: "10", help: "attack steps of PGD and HAAT" },
  k: { type: "string", default: "5", help: "HAAT's power-iteration steps (warm: at the first attack step)" },
  xi: { type: "string", default: "1e-5", help: "HAAT's finite-difference step" },
  "warm-k": { type: "string", default: "1", help: "warm HAAT's power steps after the first attack step" },
  micro: { type: "string", default: "auto", help: "micro-batch (auto: 64 on onednn and wasm from width 64, else 0)" },
  budget: { type: "string", default: "300", help: "seconds for the whole benchmark, every backend together" },
  quick: {
    type: "boolean",
    default: false,
    help: "a check at tiny sizes: widths 2 and 4, batch 4, 2 attack steps, k 2",
  },
  backend: { type: "string", default: "", help: "(internal) run this one backend in this process" },
  deadline: { type: "string", default: "", help: "(internal) Date.now() after which no workload starts" },
});

/** One workload: its name, its objective (null: the attack alone), its cost in input gradients. */
interface Workload {
  bench: string;
  workload: "pgd-attack" | Objective | "haat-warm";
  objective: Objective | null;
  attack: StepAttack;
  /** Input gradients of one timed step (for the budget; the training step itself counts apart). */
  gradients: number;
  /** Whether it takes a training step. */
  trains: boolean;
}

/** The workloads of one width, cheapest first. */
function workloads(steps: number, k: number, xi: number, warmK: number): Workload[] {
  const cold: StepAttack = { steps, k, xi, warmStart: false, warmK };
  const warm: StepAttack = { ...cold, warmStart: true };
  return [
    {
      bench: `pgd${steps}-attack`,
      workload: "pgd-attack",
      objective: null,
      attack: cold,
      gradients: steps,
      trains: false,
    },
    {
      bench: benchName("standard", steps, k, null),
      workload: "standard",
      objective: "standard",
      attack: cold,
      gradients: 0,
      trains: true,
    },
    {
      bench: benchName("pgd", steps, k, null),
      workload: "pgd",
      objective: "pgd",
      attack: cold,
      gradients: steps,
      trains: true,
    },
    {
      bench: benchName("haat", steps, k, warmK),
      workload: "haat-warm",
      objective: "haat",
      attack: warm,
      gradients: steps + k + (steps - 1) * warmK,
      trains: true,
    },
    {
      bench: benchName("haat", steps, k, null),
      workload: "haat",
      objective: "haat",
      attack: cold,
      gradients: steps * (1 + k),
      trains: true,
    },
  ];
}

/** The settings both modes read, `--quick` applied. */
function settings() {
  const quick = flags.quick as boolean;
  return {
    widths: quick ? [2, 4] : (flags.widths as string).split(",").map((w) => numberFlag("widths", w)),
    batch: quick ? 4 : numberFlag("batch", flags.batch),
    repeats: numberFlag("repeats", flags.repeats),
    steps: quick ? 2 : numberFlag("steps", flags.steps),
    k: quick ? 2 : numberFlag("k", flags.k),
    xi: numberFlag("xi", flags.xi),
    warmK: numberFlag("warm-k", flags["warm-k"]),
  };
}

/** The micro-batch of a backend at a width: `heapMicroBatch` (64 on the wasm heap from width 64, else 0). */
function microBatch(backend: string, width: number, batch: number): number {
  return flags.micro === "auto" ? heapMicroBatch(backend, width, batch) : numberFlag("micro", flags.micro);
}

/**
 * Runs every workload at every width on one backend, in this process, until the deadline: each workload
 * at each width before the next workload, so that the cheap ones (the attack, the standard and PGD-10
 * steps) are measured at every width before the budget goes to HAAT.
 */
async function runBackend(name: string): Promise<void> {
  const info: BackendInfo = await useBackend(name as "webgpu");
  const { widths, batch, repeats, steps, k, xi, warmK } = settings();
  const deadline = flags.deadline ? Number(flags.deadline) : Infinity;
  const base = { backend: info.name, adapter: info.adapter ? adapterLabel(info.adapter) : null, detail: info.report };
  const machine = {
    cores: navigator.hardwareConcurrency,
    cpu: cpuModel(),
    deno: Deno.version.deno,
    tfjs: info.tfjsVersion,
  };
  const models = widths.map((width) => {
    const model = resnet18({ width, seed: 0 });
    return {
      width,
      micro: microBatch(info.name, width, batch),
      model,
      optimiser: sgd(model.trainableVariables),
      // Measured here: seconds of one input gradient, and of a training step's own part.
      gradientSeconds: undefined as number | undefined,
      trainSeconds: undefined as number | undefined,
    };
  });
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32");
  for (const w of workloads(steps, k, xi, warmK)) {
    for (const m of models) {
      const line = { bench: w.bench, workload: w.workload, ...base, width: m.width, batch, microBatch: m.micro };
      const attack = w.objective === "standard" ? {} : { attack: w.attack };
      if (m.gradientSeconds !== undefined && m.trainSeconds !== undefined) {
        // The warm-up (1 attack step: at most 1 + k gradients) and the timed steps, as measured so far.
        const step = w.gradients * m.gradientSeconds + (w.trains ? m.trainSeconds : 0);
        const warmup = (1 + k) * m.gradientSeconds + (w.trains ? m.trainSeconds : 0);
        const left = (deadline - Date.now()) / 1000;
        if (warmup + repeats * step > left) {
          console.log(JSON.stringify({ ...line, ...attack, skipped: `the time budget: ${left.toFixed(0)} s left` }));
          continue;
        }
      }
      const run = w.objective === null
        ? pgdAttack(m.model, x, y, w.attack, m.micro)
        : trainingStep(m.model, m.optimiser, x, y, w.objective, w.attack, m.micro);
      try {
        const t0 = performance.now();
        await run(1, 1);
        const warmupSeconds = (performance.now() - t0) / 1000;
        const t1 = performance.now();
        for (let r = 0; r < repeats; r++) await run(w.attack.steps, w.attack.k);
        const seconds = (performance.now() - t1) / 1000 / repeats;
        if (w.workload === "pgd-attack") m.gradientSeconds = seconds / w.gradients;
        if (w.workload === "standard") m.trainSeconds = seconds;
        console.log(JSON.stringify({
          ...line,
          ...attack,
          seconds: Number(seconds.toPrecision(4)),
          imagesPerSecond: Number((batch / seconds).toPrecision(4)),
          warmupSeconds: Number(warmupSeconds.toPrecision(4)),
          repeats,
          numTensors: tf.memory().numTensors,
          ...machine,
        }));
      } catch (e) {
        console.log(JSON.stringify({ ...line, ...attack, error: String((e as Error).message ?? e).split("\n")[0] }));
      }
    }
  }
  tf.dispose([x, y]);
  for (const m of models) m.model.dispose(), m.optimiser.dispose();
}

/** Runs each backend in its own process within the budget, passes its lines on, then the ratios. */
async function runAll(): Promise<void> {
  const backends = (flags.backends as string).split(",").filter(Boolean);
  const budget = numberFlag("budget", flags.budget);
  const start = Date.now();
  const lines: Record<string, unknown>[] = [];
  const self = new URL(import.meta.url).pathname;
  const passed = ["widths", "batch", "repeats", "steps", "k", "xi", "warm-k", "micro"]
    .flatMap((f) => [`--${f}`, String(flags[f])]);
  if (flags.quick) passed.push("--quick");
  for (const [i, backend] of backends.entries()) {
    const share = (budget * 1000 - (Date.now() - start)) / (backends.length - i);
    // The process stops starting workloads 5 s before its share ends, and is stopped at the end.
    const deadline = Date.now() + share - 5000;
    const signal = AbortSignal.timeout(Math.max(share, 1000));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, "--backend", backend, "--deadline", String(deadline), ...passed],
      stdout: "piped",
      stderr: "piped",
      signal,
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let buffered = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const text of parts) {
        if (!text.startsWith("{")) continue;
        console.log(text);
        lines.push(JSON.parse(text));
      }
    }
    const status = await child.status;
    if (!status.success) {
      const why = signal.aborted
        ? `stopped at the end of its share of the budget (${(share / 1000).toFixed(0)} s)`
        : (await stderr).trim().split("\n").filter((l) => l.trim()).slice(-1)[0] ?? `exit ${status.code}`;
      console.log(JSON.stringify({ bench: "backend", backend, error: why }));
    }
  }
  // oneDNN's seconds over WebGPU's, per width and workload measured on both.
  const seconds = (backend: string, width: unknown, workload: unknown) =>
    lines.find((l) => l.backend === backend && l.width === width && l.workload === workload)?.seconds as
      | number
      | undefined;
  const gpu = lines.filter((l) => l.backend === "webgpu" && typeof l.seconds === "number");
  for (const l of gpu) {
    const cpu = seconds("onednn", l.width, l.workload);
    if (cpu === undefined) continue;
    console.log(JSON.stringify({
      bench: "ratio",
      workload: l.workload,
      width: l.width,
      batch: l.batch,
      adapter: l.adapter,
      webgpuSeconds: l.seconds,
      onednnSeconds: cpu,
      onednnOverWebgpu: Number((cpu / (l.seconds as number)).toPrecision(3)),
    }));
  }
  console.log(JSON.stringify({ bench: "total", seconds: Number(((Date.now() - start) / 1000).toFixed(1)), budget }));
}

await runMain(async () => {
  if (flags.backend) await runBackend(flags.backend as string);
  else await runAll();
});
