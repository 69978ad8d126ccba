// The family importers, in the order the adapter registry should see them (before the plain LoRA
// importers, so that a LoRA-XS or mixed LyCORIS file is not read as a plain LoRA on a tie).
import type { AdapterImporter } from '../adapter/importer.ts';
import { lycorisImporter } from './import-lycoris.ts';
import { lolduImporter } from './import-loldu.ts';
import { loraXsImporter, peftLohaImporter, peftLokrImporter, peftMissImporter, peftRandloraImporter, peftVeraImporter } from './import-peft-families.ts';

export const FAMILY_IMPORTERS: readonly AdapterImporter[] = [
  loraXsImporter,
  lycorisImporter,
  peftLohaImporter,
  peftLokrImporter,
  peftMissImporter,
  peftVeraImporter,
  peftRandloraImporter,
  lolduImporter, // without a base it refuses with FAMILY_UNSUPPORTED, saying to pass --base (awb convert)
];
