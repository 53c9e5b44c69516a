import { assertEquals } from "./_assert.ts";

Deno.test("importing lib/losses.ts alone registers the zero derivative of comparisons, without useBackend()", async () => {
  // A fresh process that never calls useBackend(): the registration must come with the losses module.
  // L(z) = max(z)^2 / 2 has H v = v_m e_m (m the arg-max); differentiating Max's gradient, which masks
  // with Equal(z, max z), needs Equal's derivative (zero), which TensorFlow.js does not register.
  const script = (withLosses: boolean) => `
    import { tf } from ${JSON.stringify(new URL("../lib/tfjs.ts", import.meta.url).href)};
    ${withLosses ? `import ${JSON.stringify(new URL("../lib/losses.ts", import.meta.url).href)};` : ""}
    await tf.setBackend("cpu");
    const z = tf.tensor1d([1, 3, 2]), v = tf.tensor1d([1, 0.5, -1]);
    const loss = (w: tf.Tensor) => tf.div(tf.square(tf.max(w)), 2);
    try {
      const hv = tf.grad((zz) => tf.sum(tf.mul(tf.grad(loss)(zz), v)))(z);
      console.log(JSON.stringify(Array.from(hv.dataSync())));
    } catch (e) {
      console.log(JSON.stringify((e as Error).message.match(/not found for (\\w+)/)?.[1] ?? "other error"));
    }
  `;
  const run = async (withLosses: boolean) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script(withLosses)],
      stdout: "piped",
    })
      .output();
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  };
  assertEquals(await run(false), "Equal"); // TensorFlow.js alone: no gradient for Equal
  assertEquals(await run(true), [0, 0.5, 0]);
});
