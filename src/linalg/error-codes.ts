/** Failures of the compute substrate and the linear-algebra kernels. */
export const LINALG_ERROR_CODES = [
  'LINALG_SHAPE_MISMATCH', // operand shapes do not agree
  'LINALG_NOT_CONVERGED', // an iterative kernel hit its sweep limit
  'LINALG_NONFINITE', // NaN or Inf entered a factorisation
  'BACKEND_UNAVAILABLE', // the requested compute backend cannot be loaded here
  'BACKEND_UNKNOWN', // --backend / AWB_BACKEND names no backend
  'KMEANS_INVALID', // k < 1, k > points, or empty input
] as const;
export type LinalgErrorCode = (typeof LINALG_ERROR_CODES)[number];
