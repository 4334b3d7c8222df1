// The code `sentinel shell init` prints (DESIGN §8): the `sentinel` shell function, a prompt segment and completions.
// The function calls the binary by the absolute paths captured now, so it works when `sentinel` is not on PATH
// (`node /path/dist/cli/main.js shell init`). Everything here must evaluate with status 0 in a non-interactive shell:
// completions are registered only where the shell supports them (zsh: only once compinit has defined compdef).
import { quote, type Shell } from './shell-emit.js';
import { CLEARED_VARS } from './session-env.js';
import { hasControlCharacters } from '../core/text/printable.js';

/** The command line that runs this very binary: node, its flags (e.g. `--import tsx` in development) and the entry. */
export interface BinaryCommand {
  argv: string[];
}

function commandWords(shell: Shell, binary: BinaryCommand): string {
  return binary.argv.map((word) => quote(shell, word)).join(' ');
}

function bash(bin: string): string {
  return `# Sentinel shell integration for bash (docs/shell.md). Load it from ~/.bashrc with:
#   eval "$(sentinel shell init bash)"
function sentinel {
  if [ "\${1-}" = use ]; then
    shift
    local __sentinel_code
    __sentinel_code=$(command ${bin} use --shell bash --shell-pid "$$" --shell-depth "\${__sentinel_depth:-0}" "$@") || return
    eval "$__sentinel_code"
  else
    command ${bin} "$@"
  fi
}

# Prompt segment, e.g. PS1='$(sentinel_prompt)'"$PS1": prints [sentinel:<profile>] while a session is in use.
sentinel_prompt() {
  if [ -n "\${SENTINEL_PROFILE-}" ]; then printf '[sentinel:%s] ' "$SENTINEL_PROFILE"; fi
}

# bash splits COMP_WORDS at every COMP_WORDBREAKS character (: @ = ...), so a profile such as me@corp
# arrives in pieces: the words are taken from the line itself, and bash, which replaces only the text after the last
# such character, gets each candidate without what comes before it (what __ltrim_colon_completions does).
__sentinel_complete() {
  local __sentinel_line __sentinel_cur __sentinel_keep="" __sentinel_i
  local -a __sentinel_words
  COMPREPLY=()
  read -r -a __sentinel_words <<< "\${COMP_LINE:0:COMP_POINT}"
  if [[ "\${COMP_LINE:0:COMP_POINT}" == *[[:space:]] ]]; then __sentinel_words+=(""); fi
  if (( \${#__sentinel_words[@]} == 0 )); then return 0; fi
  __sentinel_cur="\${__sentinel_words[\${#__sentinel_words[@]}-1]}"
  for (( __sentinel_i = \${#__sentinel_cur} - 1; __sentinel_i >= 0; __sentinel_i-- )); do
    if [[ "\${COMP_WORDBREAKS-}" == *"\${__sentinel_cur:__sentinel_i:1}"* ]]; then
      __sentinel_keep="\${__sentinel_cur:0:__sentinel_i+1}"
      break
    fi
  done
  while IFS= read -r __sentinel_line; do
    COMPREPLY+=("\${__sentinel_line#"$__sentinel_keep"}")
  done < <(command ${bin} __complete bash -- "\${__sentinel_words[@]:1}" 2>/dev/null)
}
if builtin type complete >/dev/null 2>&1; then
  complete -o default -F __sentinel_complete sentinel
fi
`;
}

function zsh(bin: string): string {
  return `# Sentinel shell integration for zsh (docs/shell.md). Load it from ~/.zshrc, after compinit, with:
#   eval "$(sentinel shell init zsh)"
function sentinel {
  if [[ "\${1-}" == use ]]; then
    shift
    local __sentinel_code
    __sentinel_code=$(command ${bin} use --shell zsh --shell-pid "$$" --shell-depth "\${__sentinel_depth:-0}" "$@") || return
    eval "$__sentinel_code"
  else
    command ${bin} "$@"
  fi
}

# Prompt segment (setopt prompt_subst), e.g. PROMPT='$(sentinel_prompt)'"$PROMPT".
function sentinel_prompt {
  if [[ -n "\${SENTINEL_PROFILE-}" ]]; then print -rn -- "[sentinel:\${SENTINEL_PROFILE//\\%/%%}] "; fi
}

function __sentinel_complete {
  local -a __sentinel_candidates
  __sentinel_candidates=("\${(@f)$(command ${bin} __complete zsh -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  __sentinel_candidates=(\${__sentinel_candidates:#})
  if (( \${#__sentinel_candidates} )); then
    _describe -t sentinel sentinel __sentinel_candidates
  else
    _default
  fi
}
if (( \${+functions[compdef]} )); then
  compdef __sentinel_complete sentinel
fi
`;
}

// fish exports a universal variable even while a global of the same name hides it, and an empty value breaks
// botocore (AWS_PROFILE=""), so a universal variable that would win over the session cannot be hidden: refuse.
function fish(bin: string): string {
  return `# Sentinel shell integration for fish (docs/shell.md). Load it from ~/.config/fish/config.fish with:
#   sentinel shell init fish | source
function sentinel --description 'Sentinel: policy in front of AWS credentials'
    if test (count $argv) -gt 0; and test "$argv[1]" = use
        if not contains -- --off $argv
            for __sentinel_var in ${CLEARED_VARS.join(' ')}
                if set -qUx $__sentinel_var
                    printf 'Error: the universal variable %s would override the session in every program this shell starts\\nHint: erase it with \`set -eU %s\`, then run the command again.\\n' $__sentinel_var $__sentinel_var >&2
                    return 1
                end
            end
        end
        set -l __sentinel_level 0
        set -q __sentinel_depth; and set __sentinel_level $__sentinel_depth
        set -l __sentinel_code (command ${bin} use --shell fish --shell-pid $fish_pid --shell-depth $__sentinel_level $argv[2..-1])
        set -l __sentinel_status $status
        test $__sentinel_status -eq 0; or return $__sentinel_status
        string join \\n -- $__sentinel_code | source
    else
        command ${bin} $argv
    end
end

# Prompt segment: call sentinel_prompt from fish_prompt; prints [sentinel:<profile>] while a session is in use.
function sentinel_prompt
    set -q SENTINEL_PROFILE; and printf '[sentinel:%s] ' $SENTINEL_PROFILE
    return 0
end

function __sentinel_complete
    command ${bin} __complete fish -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null
end
complete -c sentinel -e
complete -c sentinel -f -a '(__sentinel_complete)'
`;
}

export function initCode(shell: Shell, binary: BinaryCommand): string {
  if (binary.argv.length === 0 || !binary.argv.every((w) => w.length > 0 && !hasControlCharacters(w))) {
    throw new Error('cannot write shell code for an empty or control-character path');
  }
  const bin = commandWords(shell, binary);
  switch (shell) {
    case 'bash':
      return bash(bin);
    case 'zsh':
      return zsh(bin);
    case 'fish':
      return fish(bin);
  }
}
