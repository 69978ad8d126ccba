/** Failures specific to the non-LoRA adapter families (LoHa, LoKr, VeRA, …). */
export const FORMATS_ERROR_CODES = [
  'FAMILY_UNSUPPORTED', // a family we recognise but cannot convert (e.g. VeRA without its bases)
  'FAMILY_TENSORS_INVALID', // a family's tensors are missing or inconsistent
  'FAMILY_STRUCTURE_MISSING', // export to a family (LoHa/LoKr) asked for a module that lacks that family's structure
] as const;
export type FormatsErrorCode = (typeof FORMATS_ERROR_CODES)[number];
