// The plain `--flag value` / `--flag=value` forms the fast paths take without commander (cli/main.ts: `credentials`
// and `daemon run`): each allowed flag at most once, with a value that is not itself a flag. Anything else is not
// theirs to judge: undefined sends the command line to the full parser, with its usual messages.
export function plainFlags(args: readonly string[], allowed: readonly string[]): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const name = flag.slice(2);
    if (!flag.startsWith('--') || !allowed.includes(name)) return undefined;
    const value = inline ?? args[++i];
    if (value === undefined || value.startsWith('-') || name in values) return undefined;
    values[name] = value;
  }
  return values;
}
