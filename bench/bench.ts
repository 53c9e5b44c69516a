/**
 * `deno task bench`: runs each benchmark of bench/step.ts in its own process and prints its JSON line
 * (or a JSON line with the error, e.g. a wasm heap that ran out). Results and the machine they came
 * from are written up in bench/README.md.
 *
 * Default: on every backend that starts here, a ResNet18 (width 64) training step and a PGD-10
 * adversarial training step at batch 128. The cpu backend is measured at width 16 and batch 32 only
 * (one width-64 step of 128 images would take hours on it). `--quick` uses width 16, batch 32 for all.
 * Each benchmark process is stopped after `--timeout` seconds and reported as such.
 *
 * @module
 */
import { useBackend } from "../mod.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";

const flags = parseFlags("Usage: deno task bench [--quick] [--backends wasm,cpu]", {
  quick: { type: "boolean", default: false, help: "width 16, batch 32 (a few minutes in all)" },
  backends: { type: "string", default: "tensorflow,wasm,cpu", help: "backends to try, comma-separated" },
  kinds: { type: "string", default: "train,pgd10", help: "benchmarks: train, pgd10" },
  repeats: { type: "string", default: "2", help: "timed steps after one warm-up" },
  timeout: { type: "string", default: "1200", help: "seconds before a benchmark process is stopped" },
});

await runMain(async () => {
  for (const backend of (flags.backends as string).split(",")) {
    try {
      await useBackend(backend as "wasm");
    } catch (e) {
      console.log(JSON.stringify({ bench: "backend", backend, available: false, reason: (e as Error).message }));
      continue;
    }
    const small = flags.quick || backend === "cpu";
    const width = small ? "16" : "64", batch = small ? "32" : "128";
    // A width-64 step of 128 images outgrows the wasm heap (2 GiB usable): accumulate 2 x 64.
    const micro = backend === "wasm" && !small ? "64" : "0";
    for (const kind of (flags.kinds as string).split(",")) {
      const args = ["run", "-A", new URL("./step.ts", import.meta.url).pathname, "--backend", backend, "--kind", kind];
      args.push("--width", width, "--batch", batch, "--micro", micro, "--repeats", flags.repeats as string);
      const signal = AbortSignal.timeout(numberFlag("timeout", flags.timeout) * 1000);
      const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped", signal }).output();
      const line = new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) => l.startsWith("{")).pop();
      if (out.success && line) {
        console.log(line);
      } else {
        const err = new TextDecoder().decode(out.stderr).trim().split("\n").filter((l) => l.trim()).slice(-1)[0];
        const error = signal.aborted ? `stopped after ${flags.timeout} s` : err ?? `exit ${out.code}`;
        console.log(JSON.stringify({ bench: kind, backend, width: Number(width), batch: Number(batch), error }));
      }
    }
  }
});
