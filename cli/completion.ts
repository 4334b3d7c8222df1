// Completions for commands, flags and profile names, computed from the commander tree itself so they never drift
// from the real commands. The shell functions of `shell init` call the hidden `sentinel __complete <shell> -- <words>`;
// profile names come from the daemon (GET /v1/profiles), because inside `sentinel use` the shell's own AWS config
// points at /dev/null. Completion must never print an error: anything that fails yields no candidates.
import type { Argument, Command, Option } from 'commander';
import { isShell, type Shell } from './shell-emit.js';
import type { GlobalOptions } from './program.js';
import { connect } from './client.js';
import { isValidProfileName } from '../core/profile-name.js';

export interface Candidate {
  value: string;
  description?: string;
}

/** Where the cursor is, as far as completion cares. */
type Position =
  | { kind: 'command'; command: Command; positional: number }
  | { kind: 'option-value'; command: Command; option: Option }
  | { kind: 'none' };

function findOption(command: Command, word: string): Option | undefined {
  for (let c: Command | null = command; c; c = c.parent) {
    const found = c.options.find((o) => o.long === word || o.short === word);
    if (found) return found;
  }
  return undefined;
}

function findSubcommand(command: Command, word: string): Command | undefined {
  return command.commands.find((c) => c.name() === word || c.aliases().includes(word));
}

/** Walks the words before the cursor down the command tree. */
export function locate(root: Command, before: string[]): Position {
  let command = root;
  let positional = 0;
  let pending: Option | undefined;
  for (const word of before) {
    if (pending) {
      pending = undefined;
      continue;
    }
    if (word === '--') return { kind: 'none' }; // what follows belongs to a child command (exec)
    if (word.startsWith('-') && word.length > 1) {
      const option = findOption(command, word.split('=')[0]!);
      if (option && (option.required || option.optional) && !word.includes('=')) pending = option;
      continue;
    }
    const sub = positional === 0 ? findSubcommand(command, word) : undefined;
    if (sub) {
      command = sub;
      positional = 0;
    } else {
      positional++;
    }
  }
  if (pending) return { kind: 'option-value', command, option: pending };
  return { kind: 'command', command, positional };
}

function isProfileArgument(argument: Argument | undefined): boolean {
  return argument?.name() === 'profile';
}

/** Candidates for the word under the cursor; `profiles` is called only when a profile name fits there. */
export async function candidates(
  root: Command,
  words: string[],
  profiles: () => Promise<string[]>,
): Promise<Candidate[]> {
  const current = words.length ? words[words.length - 1]! : '';
  const position = locate(root, words.slice(0, -1));
  const found: Candidate[] = [];
  const profileCandidates = async () => (await profiles()).map((value) => ({ value, description: 'AWS profile' }));

  if (position.kind === 'option-value') {
    const { option } = position;
    if (option.long === '--profile') found.push(...(await profileCandidates()));
    else if (option.argChoices) found.push(...option.argChoices.map((value) => ({ value })));
  } else if (position.kind === 'command') {
    const { command, positional } = position;
    const help = command.createHelp();
    if (current.startsWith('-')) {
      const seen = new Set<string>();
      for (let c: Command | null = command; c; c = c.parent) {
        for (const option of help.visibleOptions(c)) {
          if (c !== command && option.long === '--version') continue;
          if (option.long && !seen.has(option.long)) {
            seen.add(option.long);
            found.push({ value: option.long, description: option.description });
          }
        }
      }
    } else {
      if (positional === 0) {
        for (const sub of help.visibleCommands(command))
          found.push({ value: sub.name(), description: sub.description() });
      }
      const argument = command.registeredArguments[positional];
      if (isProfileArgument(argument)) found.push(...(await profileCandidates()));
      else if (argument?.argChoices) found.push(...argument.argChoices.map((value) => ({ value })));
    }
  }
  return found.filter((c) => c.value.startsWith(current));
}

/** One candidate per line, in the form each shell's completion function reads. */
export function formatCandidates(shell: Shell, list: Candidate[]): string {
  const clean = (s: string | undefined) => (s ?? '').replace(/[\t\r\n]+/g, ' ').trim();
  return list
    .filter((c) => !/[\r\n]/.test(c.value))
    .map((c) => {
      const description = clean(c.description);
      if (shell === 'fish') return description ? `${c.value}\t${description}` : c.value;
      if (shell === 'zsh')
        return description
          ? `${c.value.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}:${description}`
          : c.value.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
      return c.value;
    })
    .map((line) => line + '\n')
    .join('');
}

async function daemonProfiles(options: { socket?: string; config?: string }): Promise<string[]> {
  try {
    const client = await connect(options, 1500);
    const body = await client.get<{ profiles?: Array<{ name?: unknown }> }>('/v1/profiles');
    // bash inserts a candidate into the command line as it is, unquoted: a name with `;`, `$(…)` or a space (a vendor's
    // profile list reaches here unchecked) would become shell syntax the user runs with Enter. Valid names need none.
    return (body?.profiles ?? []).map((p) => p?.name).filter(isValidProfileName);
  } catch {
    return [];
  }
}

export function register(program: Command): void {
  program
    .command('__complete', { hidden: true })
    .description('print completion candidates (used by the functions of `sentinel shell init`)')
    .argument('<shell>', 'bash, zsh or fish')
    .argument('[words...]', 'the words after `sentinel`, the last one being the word under the cursor')
    .helpOption(false)
    .allowUnknownOption()
    .action(async (shell: string, words: string[], _options: unknown, command: Command) => {
      if (!isShell(shell)) return;
      const globals = command.optsWithGlobals<GlobalOptions>();
      try {
        const list = await candidates(program, words, () => daemonProfiles(globals));
        process.stdout.write(formatCandidates(shell, list));
      } catch {
        // Completion is best effort: a broken candidate list must not print into the user's command line.
      }
    });
}
