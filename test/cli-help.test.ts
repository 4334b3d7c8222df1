// Every command of the user-facing CLI (shell, use, exec, credentials, whoami, service) documents itself: --help shows
// examples and exit codes; malformed flags are usage errors (exit 2) that point at --help.
import t from 'tap';
import { sentinel } from './support/cli.js';

const COMMANDS = [
  ['shell', 'init'],
  ['use'],
  ['exec'],
  ['credentials'],
  ['whoami'],
  ['service', 'install'],
  ['service', 'uninstall'],
  ['service', 'status'],
];

t.test('--help: examples and exit codes on every command', async (t) => {
  for (const words of COMMANDS) {
    const r = await sentinel(t, [...words, '--help']);
    t.equal(r.code, 0, words.join(' '));
    // `use` prints help on stderr: its stdout is evaluated by the shell function.
    const text = words[0] === 'use' ? r.stderr : r.stdout;
    t.match(text, new RegExp(`Usage: sentinel ${words.join(' ')}`), `${words.join(' ')}: usage`);
    t.match(text, /\nExamples:\n  \$ \S/, `${words.join(' ')}: examples`);
    t.match(text, /\nExit codes: /, `${words.join(' ')}: exit codes`);
  }
});

t.test('malformed flags are usage errors with a pointer to --help', async (t) => {
  for (const args of [['whoami', '--bogus'], ['service', 'install', '--frobnicate'], ['shell', 'init', 'bash', 'extra'], ['credentials', '--profile']]) {
    const r = await sentinel(t, args);
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
    t.match(r.stderr, /--help/, `${args.join(' ')}: points at --help`);
  }
});
