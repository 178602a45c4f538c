import { fileURLToPath } from 'node:url';

/**
 * The catalogue/ folder of the package. This module sits one level below the package root both as a
 * source file (src/) and inside the bundle the launcher runs (dist/), so the same relative URL works.
 */
export const CATALOGUE_DIR = fileURLToPath(new URL('../catalogue/', import.meta.url));
