// Fixed places in the checkout that tests read from: the repository root and its fixtures folder.
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const FIXTURES = join(REPO_ROOT, 'fixtures');
