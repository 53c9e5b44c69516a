/**
 * The lifetimes of oneDNN objects: what one cache entry created and destroys together (`OwnedObjects`,
 * built by `buildOwned`, which frees a half-made entry), and the bounded cache of entries
 * (`PrimitiveCache`, least recently used evicted and freed).
 *
 * @module
 */
import { check, type Onednn, outPointer } from "./ffi.ts";
import { createMemory, createPrimitive } from "./memory.ts";

/** The kinds of oneDNN object a cache entry owns, each with its destroy function. */
type OwnedKind = "primitive" | "memory" | "pd";

/**
 * The oneDNN objects one cache entry created (primitive descriptors, primitives, memory objects),
 * destroyed together, newest first (a backward primitive descriptor before the forward one that was
 * its hint). Each `create*` method records what it made before returning it, so a build that throws
 * halfway can destroy exactly what it made (`buildOwned`).
 */
export class OwnedObjects {
  readonly #onednn: Onednn;
  readonly #objects: [OwnedKind, Deno.PointerValue][] = [];

  constructor(onednn: Onednn) {
    this.#onednn = onednn;
  }

  /** Objects owned now. */
  get count(): number {
    return this.#objects.length;
  }

  /** A primitive descriptor from an operation descriptor (`attr` and `hint` may be null). */
  createPd(desc: Uint8Array, attr: Deno.PointerValue, hint: Deno.PointerValue, what: string): Deno.PointerValue {
    const out = outPointer();
    check(this.#onednn.lib.dnnl_primitive_desc_create(out.buffer, desc, attr, this.#onednn.engine, hint), what);
    return this.own("pd", out.get());
  }

  /** A reorder's primitive descriptor, from one memory descriptor to another on the engine. */
  createReorderPd(from: Deno.PointerValue, to: Deno.PointerValue): Deno.PointerValue {
    const o = this.#onednn, out = outPointer();
    check(o.lib.dnnl_reorder_primitive_desc_create(out.buffer, from, o.engine, to, o.engine, null), "reorder_pd");
    return this.own("pd", out.get());
  }

  /** A memory object (see `createMemory`). */
  createMemory(md: Deno.PointerValue | Uint8Array, handle: Deno.PointerValue): Deno.PointerValue {
    return this.own("memory", createMemory(this.#onednn, md, handle));
  }

  /** A primitive (see `createPrimitive`). */
  createPrimitive(pd: Deno.PointerValue): Deno.PointerValue {
    return this.own("primitive", createPrimitive(this.#onednn, pd));
  }

  /** Records an object made elsewhere, to destroy with the rest. */
  own(kind: OwnedKind, pointer: Deno.PointerValue): Deno.PointerValue {
    this.#objects.push([kind, pointer]);
    return pointer;
  }

  /** Destroys every object, newest first; the list is empty afterwards. */
  destroy(): void {
    const lib = this.#onednn.lib;
    while (this.#objects.length > 0) {
      const [kind, pointer] = this.#objects.pop()!;
      if (kind === "primitive") lib.dnnl_primitive_destroy(pointer);
      else if (kind === "memory") lib.dnnl_memory_destroy(pointer);
      else lib.dnnl_primitive_desc_destroy(pointer);
    }
  }
}

/**
 * Runs `build` with a new `OwnedObjects`; if it throws, destroys whatever it had created, then rethrows.
 *
 * @param onednn The opened library.
 * @param build Creates a cache entry, recording every object in `owned`, which the entry keeps.
 * @returns What `build` returned.
 * @throws What `build` threw, after freeing.
 */
export function buildOwned<T>(onednn: Onednn, build: (owned: OwnedObjects) => T): T {
  const owned = new OwnedObjects(onednn);
  try {
    return build(owned);
  } catch (e) {
    owned.destroy();
    throw e;
  }
}

/**
 * A map of at most `capacity` entries that evicts the least recently used one, handing it to `free`:
 * the primitive caches, so that a run through many shapes (evaluation at every batch size, a sweep)
 * holds a bounded number of oneDNN primitives and their scratch memory.
 */
export class PrimitiveCache<V> {
  readonly #capacity: number;
  readonly #free: (value: V) => void;
  readonly #entries = new Map<string, V>();

  /**
   * @param capacity The most entries kept (a positive integer).
   * @param free Frees an evicted or cleared entry.
   * @throws {RangeError} If `capacity` is not a positive integer.
   */
  constructor(capacity: number, free: (value: V) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot cache primitives as capacity must be a positive integer: current value is ${capacity}`,
      );
    }
    this.#capacity = capacity;
    this.#free = free;
  }

  /** Entries cached now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `key`, made by `create` (and cached, evicting the oldest past capacity) on a miss. */
  get(key: string, create: () => V): V {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const value = create();
    this.#entries.set(key, value);
    while (this.#entries.size > this.#capacity) {
      const [oldest, evicted] = this.#entries.entries().next().value!;
      this.#entries.delete(oldest);
      this.#free(evicted);
    }
    return value;
  }

  /** Frees every entry. */
  clear(): void {
    for (const value of this.#entries.values()) this.#free(value);
    this.#entries.clear();
  }
}
