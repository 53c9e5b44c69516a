/**
 * SHA-256 as hex, by the platform's WebCrypto: the checksum of data files and weight files.
 *
 * @module
 */

/**
 * Hex SHA-256 of bytes.
 *
 * @param bytes Any bytes.
 * @returns 64 lowercase hex digits.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sha256Hex } from "./sha256.ts";
 * assert.strictEqual((await sha256Hex(new Uint8Array(0))).slice(0, 8), "e3b0c442");
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
