// The merge builder's state: inputs and weights, method and its params, module patterns, output
// options; derived: the request, its recipe YAML, the live estimate, and validation.
import { computed, reactive, ref, shallowRef, watch, type Ref } from 'vue';
import { api, newIdempotencyKey } from '../api/client.ts';
import { toApiError, type ApiError } from '../api/api-error.ts';
import type { AdapterDetailDto, JobCreatedDto, MergeMethodDto, MergeRequestDto } from '../api/types.ts';
import { estimateMerge } from '../utils/merge-estimate.ts';
import { parsePatternList } from '../utils/module-patterns.ts';
import { recipeYaml } from '../utils/recipe.ts';
import { defaultValues, schemaFields, validateField, type FieldSpec, type FieldValue } from '../utils/schema-fields.ts';

export const OUTPUT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type OutputDtype = (typeof OUTPUT_DTYPES)[number];
const BYTES_PER_VALUE: Record<OutputDtype, number> = { F32: 4, F16: 2, BF16: 2 };
export const DEFAULT_METHOD = 'lego';

export interface MergeInputRow {
  adapterId: string;
  weight: number;
}

/** Fields that set the output rank are shown first. */
const RANK_KEYS = ['k', 'rank'];

export function orderFields(fields: readonly FieldSpec[]): FieldSpec[] {
  return [...fields].sort((a, b) => {
    const ra = RANK_KEYS.indexOf(a.key);
    const rb = RANK_KEYS.indexOf(b.key);
    return (ra === -1 ? 99 : ra) - (rb === -1 ? 99 : rb);
  });
}

export interface MergeFormOptions {
  readonly methods: Ref<readonly MergeMethodDto[] | null>;
  /** Loads an adapter's detail (module list) for the estimate; injectable for tests. */
  readonly loadAdapter?: (id: string) => Promise<AdapterDetailDto>;
  readonly toolVersion?: Ref<string | undefined>;
}

export function useMergeForm(options: MergeFormOptions) {
  const loadAdapter = options.loadAdapter ?? ((id: string) => api.adapter(id));
  const inputs = ref<MergeInputRow[]>([]);
  const details = reactive(new Map<string, AdapterDetailDto>());
  const detailErrors = reactive(new Map<string, ApiError>());
  const method = ref<string>(DEFAULT_METHOD);
  const params = ref<Record<string, FieldValue>>({});
  const includeText = ref('');
  const excludeText = ref('');
  const policy = ref<'union' | 'intersection'>('union');
  const outputRank = ref<number | null>(null);
  const outputDtype = ref<OutputDtype>('F32');
  const seed = ref<number>(0);
  const allowBaseMismatch = ref(false);
  const submitting = ref(false);
  const submitError = shallowRef<ApiError | null>(null);
  let idempotencyKey = newIdempotencyKey();

  const methodDto = computed(() => options.methods.value?.find((m) => m.name === method.value) ?? null);
  const fields = computed(() => orderFields(schemaFields(methodDto.value?.paramsSchema)));

  // A new method starts from its defaults.
  watch(
    fields,
    (next) => {
      params.value = defaultValues(next);
    },
    { immediate: true },
  );
  // When the registry arrives and lacks the default method, pick the first one.
  watch(
    () => options.methods.value,
    (list) => {
      if (list && list.length > 0 && !list.some((m) => m.name === method.value)) method.value = list[0]!.name;
    },
    { immediate: true },
  );

  async function ensureDetail(id: string): Promise<void> {
    if (details.has(id)) return;
    try {
      details.set(id, await loadAdapter(id));
      detailErrors.delete(id);
    } catch (e) {
      detailErrors.set(id, toApiError(e));
    }
  }

  function setInputs(ids: readonly string[]): void {
    const kept = inputs.value.filter((row) => ids.includes(row.adapterId));
    for (const id of ids) if (!kept.some((r) => r.adapterId === id)) kept.push({ adapterId: id, weight: 1 });
    inputs.value = kept;
    for (const id of ids) void ensureDetail(id);
  }
  function addInput(id: string): void {
    if (inputs.value.some((r) => r.adapterId === id)) return;
    inputs.value = [...inputs.value, { adapterId: id, weight: 1 }];
    void ensureDetail(id);
  }
  function removeInput(id: string): void {
    inputs.value = inputs.value.filter((r) => r.adapterId !== id);
  }
  function moveInput(id: string, delta: -1 | 1): void {
    const list = [...inputs.value];
    const i = list.findIndex((r) => r.adapterId === id);
    const j = i + delta;
    if (i === -1 || j < 0 || j >= list.length) return;
    [list[i], list[j]] = [list[j]!, list[i]!];
    inputs.value = list;
  }

  const fieldErrors = computed(() => {
    const out: Record<string, string> = {};
    for (const f of fields.value) {
      const problem = validateField(f, params.value[f.key] ?? null);
      if (problem) out[f.key] = problem;
    }
    return out;
  });

  const include = computed(() => parsePatternList(includeText.value));
  const exclude = computed(() => parsePatternList(excludeText.value));

  /** The API request (inputs by id); params with a value, nulls left to the method's default. */
  const request = computed<MergeRequestDto>(() => {
    const chosen: Record<string, unknown> = {};
    for (const f of fields.value) {
      const v = params.value[f.key];
      if (v !== null && v !== undefined && v !== '') chosen[f.key] = v;
    }
    const output: Record<string, unknown> = { format: 'peft', dtype: outputDtype.value };
    if (outputRank.value !== null) output['rank'] = outputRank.value;
    return {
      method: method.value,
      inputs: inputs.value.map((r) => ({ adapter: r.adapterId, weight: r.weight })),
      params: chosen,
      modules: { policy: policy.value, include: include.value, exclude: exclude.value },
      output,
      seed: seed.value,
      ...(allowBaseMismatch.value ? { allowBaseMismatch: true } : {}),
    };
  });

  const names = computed(() => new Map(inputs.value.map((r) => [r.adapterId, details.get(r.adapterId)?.name ?? r.adapterId])));
  const yaml = computed(() => recipeYaml(request.value, { names: names.value, ...(options.toolVersion?.value ? { toolVersion: options.toolVersion.value } : {}) }));

  const estimate = computed(() => {
    const loaded = inputs.value.map((r) => details.get(r.adapterId)).filter((d): d is AdapterDetailDto => d !== undefined);
    return estimateMerge({
      adapters: loaded,
      weights: inputs.value.filter((r) => details.has(r.adapterId)).map((r) => r.weight),
      method: method.value,
      params: params.value,
      include: include.value,
      exclude: exclude.value,
      policy: policy.value,
      outputRank: outputRank.value,
      bytesPerValue: BYTES_PER_VALUE[outputDtype.value],
    });
  });

  const problems = computed(() => {
    const out: string[] = [];
    const m = methodDto.value;
    if (!m) out.push('Choose a merge method.');
    if (inputs.value.length === 0) out.push('Add at least one adapter.');
    if (m && inputs.value.length < m.minInputs) out.push(`${m.title} needs at least ${m.minInputs} inputs.`);
    if (m && m.maxInputs !== null && inputs.value.length > m.maxInputs) out.push(`${m.title} takes at most ${m.maxInputs} inputs.`);
    for (const r of inputs.value) if (!Number.isFinite(r.weight)) out.push('Every weight must be a number.');
    for (const [key, problem] of Object.entries(fieldErrors.value)) out.push(`${key}: ${problem}`);
    if (outputRank.value !== null && (!Number.isInteger(outputRank.value) || outputRank.value < 1)) out.push('Output rank must be a whole number ≥ 1.');
    if (!Number.isInteger(seed.value) || seed.value < 0) out.push('The seed must be a whole number ≥ 0.');
    return [...new Set(out)];
  });

  // Any edit makes a new request: a fresh key, so it is not mistaken for the previous one.
  watch(request, () => {
    idempotencyKey = newIdempotencyKey();
  });

  async function submit(): Promise<JobCreatedDto | null> {
    if (problems.value.length > 0 || submitting.value) return null;
    submitting.value = true;
    submitError.value = null;
    try {
      return await api.createMerge(request.value, idempotencyKey);
    } catch (e) {
      submitError.value = toApiError(e);
      return null;
    } finally {
      submitting.value = false;
    }
  }

  return {
    inputs,
    details,
    detailErrors,
    method,
    methodDto,
    fields,
    params,
    fieldErrors,
    includeText,
    excludeText,
    policy,
    outputRank,
    outputDtype,
    seed,
    allowBaseMismatch,
    request,
    yaml,
    estimate,
    problems,
    submitting,
    submitError,
    setInputs,
    addInput,
    removeInput,
    moveInput,
    submit,
  };
}
