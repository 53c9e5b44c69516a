/**
 * IEEE 754 half precision (binary16) in plain JavaScript: models may be stored with 2 bytes a value
 * (TensorFlow.js has no float16 dtype; the values are widened to float32 when loaded).
 *
 * binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits; largest finite 65504, smallest
 * normal 2^-14, subnormals down to 2^-24; a float32 is rounded to the nearest, ties to even.
 *
 * @module
 */

/** The largest finite binary16 value, 65504. */
export const FLOAT16_MAX = 65504;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The binary16 bits nearest to a number (round to nearest, ties to even, from its float32 value;
 * beyond +-65504 it becomes an infinity, NaN stays NaN).
 *
 * @param value A number.
 * @returns The 16 bits, as an integer in [0, 65535].
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { toFloat16Bits } from "./float16.ts";
 * assertEquals(toFloat16Bits(1), 0x3c00);
 * assertEquals(toFloat16Bits(-2), 0xc000);
 * assertEquals(toFloat16Bits(65504), 0x7bff);
 * ```
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (fraction !== 0 ? 0x200 : 0); // infinity or NaN
  const e = exponent - 127 + 15; // the binary16 exponent field
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // Subnormal in binary16 (or zero): the 24-bit significand shifted right by 14 - e, rounded.
    if (e < -10) return sign; // below half the smallest subnormal: zero
    const significand = fraction | 0x800000;
    const shift = 14 - e;
    let half = significand >>> shift;
    const rest = significand & ((1 << shift) - 1), midpoint = 1 << (shift - 1);
    if (rest > midpoint || (rest === midpoint && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (fraction >>> 13);
  const rest = fraction & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1; // may carry into the exponent: right
  return sign | half;
}

/**
 * The number that binary16 bits hold.
 *
 * @param bits 16 bits, as an integer in [0, 65535].
 * @returns The value (exactly representable as a float32).
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { fromFloat16Bits } from "./float16.ts";
 * assertEquals(fromFloat16Bits(0x3c00), 1);
 * assertEquals(fromFloat16Bits(0x0001), 2 ** -24);
 * assertEquals(fromFloat16Bits(0xfc00), -Infinity);
 * ```
 */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * float32 values as little-endian binary16 bytes.
 *
 * @param values The values.
 * @returns 2 bytes a value.
 * @throws {RangeError} Naming the index, for a value that is not finite or beyond +-65504.
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { float16Bytes, float32FromFloat16Bytes } from "./float16.ts";
 * const bytes = float16Bytes(new Float32Array([0.5, -3, 1000]));
 * assertEquals(bytes.byteLength, 6);
 * assertEquals([...float32FromFloat16Bytes(bytes)], [0.5, -3, 1000]);
 * ```
 */
export function float16Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Math.abs(v) <= FLOAT16_MAX)) {
      throw new RangeError(`Cannot store float16 as value ${i} is not finite or beyond +-65504: current value is ${v}`);
    }
    view.setUint16(2 * i, toFloat16Bits(v), true);
  }
  return out;
}

/**
 * Little-endian binary16 bytes widened to float32.
 *
 * @param bytes 2 bytes a value.
 * @returns The values.
 * @throws {RangeError} If the byte count is odd.
 */
export function float32FromFloat16Bytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 2 !== 0) {
    throw new RangeError(`Cannot read float16 values as the byte count is odd: current value is ${bytes.byteLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = TABLE[view.getUint16(2 * i, true)];
  return out;
}

/** All 65,536 binary16 values: a lookup is faster than decoding each of a model's millions. */
const TABLE = Float32Array.from({ length: 65536 }, (_, bits) => fromFloat16Bits(bits));
