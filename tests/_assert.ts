/**
 * Assertions with the names of `@std/assert` (JSR is not reachable from this project's registries),
 * built on Node's `assert`, which Deno ships.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Throws unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Throws unless `actual` and `expected` are deeply equal (typed arrays compared element-wise). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Throws unless `fn` throws an error whose message matches `pattern`. */
export function assertThrows(fn: () => unknown, pattern: RegExp): void {
  nodeAssert.throws(fn, (e: Error) => {
    if (!pattern.test(e.message)) throw new Error(`Error message "${e.message}" does not match ${pattern}`);
    return true;
  });
}

/** Throws unless `fn` rejects with an error whose message matches `pattern`. */
export async function assertRejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await nodeAssert.rejects(fn, (e: Error) => {
    if (!pattern.test(e.message)) throw new Error(`Error message "${e.message}" does not match ${pattern}`);
    return true;
  });
}
