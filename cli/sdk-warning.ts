// The AWS SDK for JavaScript prints a NodeVersionSupportWarning on stderr whenever it builds a client on Node < 22:
// its releases after early January 2027 will need Node 22. Sentinel's lockfile pins SDK releases that support Node 20
// (DESIGN §1), so for a Sentinel user the warning is noise on every admin command and in the daemon's log. It is
// silenced for Sentinel's own process only: a value the user set wins, and a program Sentinel runs for the user
// (`exec`) starts from the user's environment, where the warning may well concern them.
const VARIABLE = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

let setHere = false;

/** Must run before anything builds an SDK client (the SDK reads the variable then). */
export function silenceSdkNodeWarning(env: NodeJS.ProcessEnv = process.env): void {
  if (env[VARIABLE] !== undefined) return;
  env[VARIABLE] = 'true';
  setHere = true;
}

/** `env` as the user had it: without the variable if silenceSdkNodeWarning set it. */
export function userEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!setHere) return env;
  const { [VARIABLE]: _set, ...rest } = env;
  return rest;
}
