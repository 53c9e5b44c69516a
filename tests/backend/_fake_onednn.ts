/**
 * A fake oneDNN for the failure-path tests: a symbol table that hands out numbered handles, records
 * which are alive and which destroy function freed each, and fails the call a test chooses. Needs no
 * library, so these tests run everywhere.
 *
 * @module
 */
import type { Onednn, OnednnSymbols } from "../../lib/backend/onednn/ffi.ts";

/** What a fake handle is: the function that must destroy it. */
type Kind = "pd" | "primitive" | "memory" | "attr" | "postOps" | "engine" | "stream";

const CREATORS: Record<string, Kind> = {
  dnnl_primitive_desc_create: "pd",
  dnnl_reorder_primitive_desc_create: "pd",
  dnnl_primitive_create: "primitive",
  dnnl_memory_create: "memory",
  dnnl_primitive_attr_create: "attr",
  dnnl_post_ops_create: "postOps",
  dnnl_engine_create: "engine",
  dnnl_stream_create: "stream",
};

const DESTROYERS: Record<string, Kind> = {
  dnnl_primitive_desc_destroy: "pd",
  dnnl_primitive_destroy: "primitive",
  dnnl_memory_destroy: "memory",
  dnnl_primitive_attr_destroy: "attr",
  dnnl_post_ops_destroy: "postOps",
  dnnl_engine_destroy: "engine",
  dnnl_stream_destroy: "stream",
};

/** Calls made while a kernel runs, not while it is built. */
const RUN_CALLS = new Set(["dnnl_memory_set_data_handle", "dnnl_primitive_execute", "dnnl_stream_wait"]);

/** `dnnl_invalid_arguments`. */
export const FAILED = 2;

/** The fake library and what it saw. */
export class FakeOnednn {
  /** Live handles and their kinds. */
  readonly live = new Map<bigint, Kind>();
  /** Handles in the order they were created. */
  readonly created: bigint[] = [];
  /** Wrong destructions: a handle destroyed twice, never made, or by another kind's function. */
  readonly errors: string[] = [];
  /** Every call, by symbol name. */
  readonly calls: string[] = [];
  /** Calls that may fail (status-returning calls other than destroys), counted from 1. */
  fallible = 0;
  /** Fail the fallible call of this number. */
  failAt: number | undefined;
  /** Fail every call of these symbols. */
  readonly failing = new Set<string>();
  /** The version `dnnl_version` reports. */
  version = [2, 6, 3];
  /** What `dnnl_memory_desc_equal` answers: 0 makes the convolutions reorder their filter. */
  equalDescriptors = 0;
  #next = 0x1000n;
  readonly #keep: unknown[] = [];
  readonly lib: OnednnSymbols;

  constructor() {
    const weights = new Float32Array(1 << 16);
    const md = new Uint8Array(696);
    this.#keep.push(weights, md);
    const special: Record<string, (...args: unknown[]) => unknown> = {
      dnnl_version: () => {
        const v = new Int32Array([...this.version, 0, 0, 0, 0, 0]);
        this.#keep.push(v);
        return Deno.UnsafePointer.of(v);
      },
      dnnl_get_effective_cpu_isa: () => 0x27,
      dnnl_primitive_desc_query_md: () => Deno.UnsafePointer.of(md),
      dnnl_memory_desc_equal: () => this.equalDescriptors,
      dnnl_primitive_desc_query: () => FAILED, // no implementation name: "unknown"
      dnnl_memory_get_data_handle: (_memory, out) => {
        (out as BigUint64Array)[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(weights)));
        return 0;
      },
    };
    this.lib = new Proxy({} as OnednnSymbols, {
      get: (_target, name: string) => (...args: unknown[]) => {
        this.calls.push(name);
        const destroys = DESTROYERS[name];
        if (destroys !== undefined) return this.#destroy(name, destroys, args[0] as Deno.PointerValue);
        if (name in special && !CREATORS[name]) {
          if (name === "dnnl_memory_get_data_handle" && this.#fails(name)) return FAILED;
          return special[name](...args);
        }
        if (this.#fails(name)) return FAILED;
        const creates = CREATORS[name];
        if (creates !== undefined) {
          const handle = this.#next++;
          this.live.set(handle, creates);
          this.created.push(handle);
          (args[0] as BigUint64Array)[0] = handle;
        }
        return 0;
      },
    });
  }

  /** Whether this call fails; counts it. */
  #fails(name: string): boolean {
    if (this.failing.has(name)) return true;
    if (RUN_CALLS.has(name)) return false;
    this.fallible++;
    return this.fallible === this.failAt;
  }

  #destroy(name: string, kind: Kind, pointer: Deno.PointerValue): number {
    const handle = BigInt(Deno.UnsafePointer.value(pointer));
    const had = this.live.get(handle);
    if (had === undefined) this.errors.push(`${name}(0x${handle.toString(16)}): not alive`);
    else if (had !== kind) this.errors.push(`${name}(0x${handle.toString(16)}): a ${had}, not a ${kind}`);
    this.live.delete(handle);
    return 0;
  }

  /** An `Onednn` on this fake library, as `openOnednn` would return. */
  onednn(): Onednn {
    return {
      lib: this.lib,
      engine: Deno.UnsafePointer.create(0x10n),
      stream: Deno.UnsafePointer.create(0x20n),
      version: this.version.join("."),
      isa: "avx512_core",
      threads: 1,
      path: "fake",
    };
  }
}
