// A safetensors file built by hand, not by the workbench writer: the 8-byte little-endian header
// length, the header text exactly as given, then the data bytes.
export function rawSafetensors(header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}
