// Profile names Sentinel accepts, from requests and from the files: letters, digits and `_ . @ + -`, optionally
// grouped with `/` (`org/prod`); each part starts with a letter, digit or `_`, so `.`, `..`, `-flag` and empty parts
// cannot occur. The name reaches SSM parameter paths, log lines and shell exports, so anything wider is refused.
const PROFILE_PART = '[A-Za-z0-9_][A-Za-z0-9_.@+-]*';
export const PROFILE_NAME = new RegExp(`^${PROFILE_PART}(?:/${PROFILE_PART})*$`);
export const MAX_PROFILE_NAME = 128;
/** The rule in words, for messages (which never echo a refused name, so they name no example either). */
export const PROFILE_NAME_RULE =
  'letters, digits and _ . @ + -, parts separated by /, none of them a property name every JavaScript object has';

// Names every plain JavaScript object already answers to (`__proto__`, `constructor`, `toString`, `hasOwnProperty`,
// ...), and `prototype`. The AWS SDK for JavaScript keeps the sections of the AWS files in plain objects, keyed by
// name: `[profile __proto__]` makes it throw and read the whole config file as empty, and a section named
// `constructor` or `toString` makes it write the section's keys onto the built-in Object or Object.prototype.toString
// of the process that reads the file. Names end up as keys of plain objects in Sentinel too, so no such name is a
// profile, in any part.
const RESERVED = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** Whether `name` is a key plain JavaScript objects already have (or `prototype`): never a profile. */
export function isReservedName(name: string): boolean {
  return RESERVED.has(name);
}

export function isValidProfileName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length <= MAX_PROFILE_NAME &&
    PROFILE_NAME.test(name) &&
    !name.split('/').some(isReservedName)
  );
}
