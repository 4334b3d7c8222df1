// Profile names Sentinel accepts, from requests and from the files: letters, digits and `_ . @ + -`, optionally
// grouped with `/` (`org/prod`); each part starts with a letter, digit or `_`, so `.`, `..`, `-flag` and empty parts
// cannot occur. The name reaches SSM parameter paths, log lines and shell exports, so anything wider is refused;
// `__proto__` is refused too (the SDK rejects it, and names end up as keys of plain objects elsewhere).
const PROFILE_PART = '[A-Za-z0-9_][A-Za-z0-9_.@+-]*';
export const PROFILE_NAME = new RegExp(`^${PROFILE_PART}(?:/${PROFILE_PART})*$`);
export const MAX_PROFILE_NAME = 128;

export function isValidProfileName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length <= MAX_PROFILE_NAME &&
    PROFILE_NAME.test(name) &&
    !name.split('/').includes('__proto__')
  );
}
