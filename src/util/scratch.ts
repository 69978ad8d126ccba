// Reusable f64 work buffers for per-module kernels (src/linalg, src/merge). Slot names carry their user as a
// prefix ("lowRankSvd.", "lego.", …) so that two kernels never share a buffer. On this kind of host, first-touching
// fresh memory costs ~4 ms per MB (page faults, measured in bench/merge), which made a module's
// temporary stacks cost more than the arithmetic on them. A named slot keeps its buffer between
// modules (grown geometrically), so only the first module pays for the faults.
// A slot's contents are valid until the next request for the same slot; callers must not let a
// buffer escape into a result.
const slots = new Map<string, Float64Array>();

/** A Float64Array of exactly `length` values from `slot`, contents unspecified unless `zero`. */
export function scratchF64(slot: string, length: number, zero = false): Float64Array {
  let buf = slots.get(slot);
  if (!buf || buf.length < length) {
    buf = new Float64Array(Math.max(length, Math.ceil((buf?.length ?? 0) * 1.5)));
    slots.set(slot, buf);
    return buf.subarray(0, length);
  }
  const view = buf.subarray(0, length);
  if (zero) view.fill(0);
  return view;
}

const sharedSlots = new Map<string, Float64Array>();

/**
 * Like scratchF64, backed by a SharedArrayBuffer: a helper thread can read and write it without a
 * copy (src/merge/kernels/split-kernels.ts). Same validity rule: until the next request for the slot.
 */
export function sharedScratchF64(slot: string, length: number, zero = false): Float64Array {
  let buf = sharedSlots.get(slot);
  if (!buf || buf.length < length) {
    const capacity = Math.max(length, Math.ceil((buf?.length ?? 0) * 1.5));
    buf = new Float64Array(new SharedArrayBuffer(capacity * Float64Array.BYTES_PER_ELEMENT));
    sharedSlots.set(slot, buf);
    return buf.subarray(0, length);
  }
  const view = buf.subarray(0, length);
  if (zero) view.fill(0);
  return view;
}
