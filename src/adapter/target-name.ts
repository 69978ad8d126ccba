// The short "target" name of a module, as PEFT's target_modules lists it:
// "model.layers.3.self_attn.q_proj" → "q_proj"; "…attn1.to_out.0" → "to_out.0";
// kohya "lora_unet_…_transformer_blocks_0_attn1_to_k" → "attn1_to_k" (text after the last index).

export function targetName(moduleName: string): string {
  if (moduleName.includes('.')) {
    const parts = moduleName.split('.');
    const last = parts[parts.length - 1]!;
    if (/^\d+$/.test(last) && parts.length >= 2) {
      return `${parts[parts.length - 2]}.${last}`;
    }
    return last;
  }
  const m = /^.*_\d+_(.+)$/.exec(moduleName);
  return m ? m[1]! : moduleName;
}
