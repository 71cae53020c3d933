/**
 * The release version, kept in code so a compiled binary needs no file
 * beside it.
 *
 * @module
 */

/** secshrnet's version. */
export const VERSION = "0.1.0";
