// Kept in step with package.json by test/version.test.ts; a constant avoids reading package.json at every start.
export const VERSION = '0.1.0';
