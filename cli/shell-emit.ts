// The shell code `sentinel use` prints for the `sentinel` shell function to eval (DESIGN §8). It saves every variable
// it replaces — its value and whether it was exported, a plain shell variable or unset — then applies the session's
// change set; `use --off` puts each saved variable back exactly. Saved values live in unexported shell variables, so
// a replaced secret never reaches a child process. Sessions nest (`--nest`): each level saves into its own slot,
// numbered by the depth the shell function passes in (the binary cannot see unexported shell variables itself).
import type { EnvChanges } from './session-env.js';
import { MANAGED_VARS } from './session-env.js';

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

export function isShell(value: unknown): value is Shell {
  return typeof value === 'string' && (SHELLS as readonly string[]).includes(value);
}

/** A single-quoted word that the shell reads back as exactly `value`, whatever it contains. */
export function quote(shell: Shell, value: string): string {
  if (shell === 'fish') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// Variable names are never user input: they come from session-env.ts. Checked anyway, since they are pasted into code.
const NAME = /^[A-Z_][A-Z0-9_]*$/;
function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a variable name: ${name}`);
  return name;
}

const saved = (depth: number, name: string) => `__sentinel_saved_${depth}_${checkName(name)}`;
const was = (depth: number, name: string) => `__sentinel_was_${depth}_${checkName(name)}`;

function save(shell: Shell, depth: number, name: string): string {
  const value = saved(depth, name);
  const state = was(depth, name);
  switch (shell) {
    case 'bash':
      // `declare -p` prints `declare -x NAME=...` for exported variables; only its flag field is inspected.
      return (
        `if [ -n "\${${name}+x}" ]; then ${value}=$${name}; __sentinel_flags=$(declare -p ${name} 2>/dev/null); ` +
        `__sentinel_flags=\${__sentinel_flags#declare -}; case \${__sentinel_flags%% *} in *x*) ${state}=x ;; *) ${state}=s ;; esac; ` +
        `else ${state}=u; fi`
      );
    case 'zsh':
      return (
        `if [ -n "\${${name}+x}" ]; then ${value}=$${name}; case \${(t)${name}} in *export*) ${state}=x ;; *) ${state}=s ;; esac; ` +
        `else ${state}=u; fi`
      );
    case 'fish':
      return (
        `if set -q ${name}; set -g ${value} $${name}; if set -qx ${name}; set -g ${state} x; else; set -g ${state} s; end; ` +
        `else; set -g ${state} u; end`
      );
  }
}

function assign(shell: Shell, name: string, value: string): string {
  checkName(name);
  return shell === 'fish' ? `set -gx ${name} ${quote(shell, value)}` : `export ${name}=${quote(shell, value)}`;
}

function remove(shell: Shell, name: string): string {
  checkName(name);
  // fish: universal variables are not touched here; the shell function refuses to start while one would win.
  return shell === 'fish' ? `set -e -g ${name}` : `unset ${name}`;
}

function restore(shell: Shell, depth: number, name: string): string {
  const value = saved(depth, name);
  const state = was(depth, name);
  if (shell === 'fish') {
    return (
      `switch "$${state}"; case x; set -e -g ${name}; set -gx ${name} $${value}; ` +
      `case s; set -e -g ${name}; set -g ${name} $${value}; case u; set -e -g ${name}; end; ` +
      `set -e -g ${state}; set -e -g ${value}`
    );
  }
  return (
    `case \${${state}-} in x) export ${name}="$${value}" ;; s) unset ${name}; ${name}=$${value} ;; u) unset ${name} ;; esac; ` +
    `unset ${state} ${value}`
  );
}

function setDepth(shell: Shell, depth: number): string {
  if (shell === 'fish') return depth > 0 ? `set -g __sentinel_depth ${depth}` : 'set -e -g __sentinel_depth';
  return depth > 0 ? `__sentinel_depth=${depth}` : 'unset __sentinel_depth';
}

// fish's `set` leaves $status as the previous command set it (e.g. 4 from erasing an absent variable), and the shell
// function returns the status of the evaluated code: end on an explicit success.
function finish(shell: Shell, lines: string[]): string {
  if (shell === 'fish') lines.push('true');
  return lines.join('\n') + '\n';
}

function checkDepth(depth: number): number {
  if (!Number.isInteger(depth) || depth < 0 || depth > 64) throw new Error(`session depth out of range: ${depth}`);
  return depth;
}

/** Code that opens a session level: `depth` is the shell's current depth (0 = no session yet). */
export function useCode(shell: Shell, changes: EnvChanges, depth: number): string {
  const level = checkDepth(depth) + 1;
  const touched = [...new Set([...changes.set.map(([name]) => name), ...changes.unset])];
  const lines = [setDepth(shell, level)];
  for (const name of touched) lines.push(save(shell, level, name));
  if (shell === 'bash') lines.push('unset __sentinel_flags');
  for (const name of changes.unset) lines.push(remove(shell, name));
  for (const [name, value] of changes.set) lines.push(assign(shell, name, value));
  return finish(shell, lines);
}

/** Code that closes the session level `depth` (≥ 1) and restores what that level saved. */
export function offCode(shell: Shell, depth: number): string {
  const level = checkDepth(depth);
  if (level < 1) throw new Error('no session level to close');
  const lines = MANAGED_VARS.map((name) => restore(shell, level, name));
  lines.push(setDepth(shell, level - 1));
  return finish(shell, lines);
}
