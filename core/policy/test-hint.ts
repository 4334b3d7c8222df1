// `sentinel policy test` commands for hints, with the real policy file, profile and user, so that the command a
// refusal suggests runs as written. An SSM policy is pulled into a file first.
import type { Mode } from '../types.js';

/** A word as a POSIX shell reads it back: as it is when it is plain, else single-quoted. */
export const shellWord = (s: string) => (/^[A-Za-z0-9_./~@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** `policy test` of the policy in force (`file:<path>`, or `ssm:<name>` pulled first) with these arguments. */
function policyTestCommand(policySource: string, profile: string, args: string): string {
  return policySource.startsWith('file:')
    ? `sentinel policy test ${shellWord(policySource.slice('file:'.length))} ${args}`
    : `sentinel policy pull ${shellWord(profile)} -o ${shellWord(`${profile}.yaml`)} && sentinel policy test ${shellWord(`${profile}.yaml`)} ${args}`;
}

/** `policy test` with the real policy, profile, user and mode. */
export function policyTestHint(policySource: string, profile: string, user: string, mode: Mode): string {
  const args = `--profile ${profile} --user ${user} --mode ${mode}`;
  return `See why with \`${policyTestCommand(policySource, profile, args)}\`.`;
}

/**
 * The break-glass refusal's hint. Break-glass needs the DynamoDB session store, and a policy with rate_limits is
 * refused under the memory store that `policy test` assumes by default, so the command says `--session-store
 * dynamodb`.
 */
export function breakglassTestHint(policySource: string | undefined, profile: string, user: string): string {
  const args = `--profile ${shellWord(profile)} --user ${shellWord(user)} --session-store dynamodb`;
  const command = policySource
    ? policyTestCommand(policySource, profile, args)
    : `sentinel policy test <policy file> ${args}`;
  return `\`${command}\` shows whether and how you may break glass; docs/breakglass.md explains the checks.`;
}
