// Every command documents itself: --help shows examples, and every command that runs something its exit codes. Usage
// errors, commander's own included, are `Error:` + `Hint:` on stderr with exit 2 and nothing on stdout. The command
// tree is walked in-process (so a new command cannot be forgotten); a few runs go through the built binary, whose
// exit path is the contract.
import t, { type Test } from 'tap';
import type { Command } from 'commander';
import { buildProgram, commandPath, commandTree } from '../cli/program.js';
import { sentinel, sentinelInProcess } from './support/cli.js';

const program = buildProgram();
/** Listed in its parent's help, and so is the parent: what a user can find. */
const visible = (c: Command): boolean =>
  c.parent === null || (c.parent.createHelp().visibleCommands(c.parent).includes(c) && visible(c.parent));
const COMMANDS = commandTree(program).filter(visible);
/** The words after `sentinel` that name a command: [] for the program itself. */
const wordsOf = (c: Command) => commandPath(c).split(' ').slice(1);

t.test('the walk covers the whole tree: every group, every subcommand, the program itself', async (t) => {
  const names = COMMANDS.map((c) => wordsOf(c).join(' '));
  for (const expected of [
    '',
    'daemon',
    'daemon run',
    'daemon start',
    'daemon stop',
    'daemon status',
    'daemon reload',
    'use',
    'exec',
    'credentials',
    'server revoke',
    'init sessions',
    'policy test',
  ]) {
    t.ok(names.includes(expected), `covers "sentinel ${expected}"`);
  }
  t.notOk(names.includes('__complete'), 'hidden commands are not user-facing');
});

t.test('--help: examples on every command; exit codes on every command that runs something', async (t) => {
  for (const command of COMMANDS) {
    const words = wordsOf(command);
    const name = ['sentinel', ...words].join(' ');
    const r = await sentinelInProcess([...words, '--help']);
    t.equal(r.code, 0, `${name}: exit 0`);
    // `use` prints help on stderr: its stdout is evaluated by the shell function.
    const text = words[0] === 'use' ? r.stderr : r.stdout;
    t.match(text, new RegExp(`^Usage: ${name} `), `${name}: usage`);
    t.match(text, /\nExamples:\n {2}\$ \S/, `${name}: examples`);
    if (command.commands.length === 0 || command.parent === null)
      t.match(text, /\nExit codes: /, `${name}: exit codes`);
  }
});

t.test(
  '--help through the binary: exit 0, help on stdout; `use` keeps stdout empty for the shell function',
  async (t) => {
    const [status, use] = await Promise.all([
      sentinel(t, ['daemon', 'status', '--help']),
      sentinel(t, ['use', '--help']),
    ]);
    t.equal(status.code, 0);
    t.match(status.stdout, /^Usage: sentinel daemon status [\s\S]*\nExamples:\n/);
    t.equal(status.stderr, '');
    t.equal(use.code, 0);
    t.equal(use.stdout, '', 'nothing the shell function would evaluate');
    t.match(use.stderr, /^Usage: sentinel use /);
  },
);

/** Exactly two lines: `Error: <what>` and `Hint: <what to do>`, the hint pointing at the command's --help. */
function usageShape(
  t: Test,
  r: { code: number | null; stdout: string; stderr: string },
  what: RegExp,
  hint: RegExp,
  name: string,
) {
  t.equal(r.code, 2, `${name}: exit 2`);
  t.equal(r.stdout, '', `${name}: nothing on stdout`);
  const lines = r.stderr.split('\n');
  t.equal(lines.length, 3, `${name}: two lines on stderr`);
  t.match(lines[0], what, `${name}: Error: says what is wrong`);
  t.match(lines[1], hint, `${name}: Hint: says what to do`);
  t.equal(lines[2], '', `${name}: ends with a newline`);
}

t.test(
  "commander's own usage errors through the binary: unknown command, unknown option, missing option, missing argument",
  async (t) => {
    const [command, option, required, argument] = await Promise.all([
      sentinel(t, ['daemn']),
      sentinel(t, ['whoami', '--jsn']),
      sentinel(t, ['credentials']),
      sentinel(t, ['policy', 'validate']),
    ]);
    usageShape(
      t,
      command,
      /^Error: unknown command 'daemn'$/,
      /^Hint: Did you mean `sentinel daemon`\? Run `sentinel --help` for usage and examples\.$/,
      'unknown command',
    );
    usageShape(
      t,
      option,
      /^Error: unknown option '--jsn'$/,
      /^Hint: Did you mean `--json`\? Run `sentinel whoami --help` for usage and examples\.$/,
      'unknown option',
    );
    usageShape(
      t,
      required,
      /^Error: required option '--profile <profile>' not specified$/,
      /^Hint: Run `sentinel credentials --help` for usage and examples\.$/,
      'missing required option',
    );
    usageShape(
      t,
      argument,
      /^Error: missing required argument 'file'$/,
      /^Hint: Run `sentinel policy validate --help` for usage and examples\.$/,
      'missing argument',
    );
  },
);

t.test('the same format for every usage error commander raises, at every depth', async (t) => {
  const cases: Array<[string[], RegExp, RegExp]> = [
    [
      ['daemon', 'stats'],
      /^Error: unknown command 'stats'$/,
      /^Hint: Did you mean `sentinel daemon status`\? Run `sentinel daemon --help`/,
    ],
    [['server', 'sesions'], /^Error: unknown command 'sesions'$/, /`sentinel server sessions`/],
    [['frobnicate'], /^Error: unknown command 'frobnicate'$/, /^Hint: Run `sentinel --help` for usage and examples\.$/],
    [['status'], /^Error: unknown command 'status'$/, /^Hint: Did you mean `sentinel daemon status` or /],
    [
      ['service', 'install', '--frobnicate'],
      /^Error: unknown option '--frobnicate'$/,
      /^Hint: Run `sentinel service install --help`/,
    ],
    [
      ['server', 'revoke', '0123456789abcdef'],
      /^Error: required option '--reason <text>' not specified$/,
      /`sentinel server revoke --help`/,
    ],
    [
      ['credentials', '--profile'],
      /^Error: option '--profile <profile>' argument missing$/,
      /`sentinel credentials --help`/,
    ],
    [
      ['shell', 'init', 'bash', 'extra'],
      /^Error: too many arguments for 'init'\. Expected 1 argument but got 2\.$/,
      /`sentinel shell init --help`/,
    ],
    [['exec'], /^Error: missing required argument 'profile'$/, /`sentinel exec --help`/],
  ];
  for (const [args, what, hint] of cases) usageShape(t, await sentinelInProcess(args), what, hint, args.join(' '));
});

t.test('with --json a usage error is JSON on stderr too', async (t) => {
  const r = await sentinelInProcess(['whoami', '--json', '--bogus']);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.same(JSON.parse(r.stderr), {
    error: {
      code: 'UsageError',
      message: "unknown option '--bogus'",
      hint: 'Run `sentinel whoami --help` for usage and examples.',
    },
  });
});
