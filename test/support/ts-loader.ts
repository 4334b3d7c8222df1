// Node arguments that let a child process run this repository's TypeScript sources. Under tap they are the loader tap
// itself runs the tests with: a child that transpiled the same file with another loader (tsx) would report coverage
// for the same file URL from different JavaScript, and tap's merge of the two (c8, by URL and byte offset) then drops
// or garbles that file's coverage — which file, and whether, depended on the order the coverage files were read in.
// Outside tap (the benches), tsx.
export function typescriptLoaderArgs(): string[] {
  const tap = process.execArgv.filter((a) => a.startsWith('--import=') && a.includes('@tapjs/typescript'));
  return tap.length > 0 ? tap : ['--import', 'tsx'];
}
