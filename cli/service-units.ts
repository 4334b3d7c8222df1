// The service definitions `sentinel service install` writes: the templates in systemd/ and launchd/ with their
// {{FIELDS}} filled in. Pure functions of (templates, paths, environment), so `--dry-run` and the tests see exactly
// what an install writes.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SentinelError } from '../core/errors.js';
import { configFile, configHome, type Env } from '../core/paths.js';
import { hasControlCharacters } from '../core/text/printable.js';
import { LAUNCHD_LABEL } from '../daemon/lifecycle/service-manager.js';
import { DAEMON_NODE_FLAGS } from './daemon-node-flags.js';

export type Platform = 'linux' | 'darwin';
export { LAUNCHD_LABEL };

/** The folder holding package.json, systemd/ and launchd/ (two levels up from dist/cli, one from cli/). */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'systemd', 'sentinel.service'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find Sentinel's package folder above ${from}`);
  }
}

/** What the service runs: this node binary and the built entry script, by absolute path, plus `--config` if given. */
export interface ServiceTarget {
  node: string;
  entry: string;
  config?: string;
  /** Variables the daemon must share with the shell that installs it (see capturedEnvironment). */
  environment: Array<[string, string]>;
  documentation: string;
}

export interface UnitFile {
  path: string;
  content: string;
  /** A line only a file written by `service install` holds (from its template): what install may replace and
   * uninstall may remove. */
  marker: string;
}

/**
 * The shell's variables that decide which files the daemon uses. A service manager starts the daemon with its own,
 * minimal environment: without PATH a credential_process such as aws-vault is not found, and on macOS launchd gives
 * no TMPDIR, so the daemon would listen where the shell's clients never look.
 */
export function capturedEnvironment(env: Env, platform: Platform): Array<[string, string]> {
  const names = [
    'PATH',
    'XDG_CONFIG_HOME',
    'XDG_STATE_HOME',
    'SENTINEL_CONFIG',
    'SENTINEL_SOCKET',
    'AWS_CONFIG_FILE',
    'AWS_SHARED_CREDENTIALS_FILE',
  ];
  // systemd's user manager sets XDG_RUNTIME_DIR (%t) itself; launchd sets neither.
  if (platform === 'darwin') names.push('TMPDIR', 'XDG_RUNTIME_DIR');
  const out: Array<[string, string]> = [];
  for (const name of names) {
    const value = env[name];
    if (!value || hasControlCharacters(value)) continue;
    // Paths only when absolute; a `sentinel use` shell's /dev/null config files are not the user's real ones.
    if (name !== 'PATH' && (!value.startsWith('/') || value === '/dev/null')) continue;
    out.push([name, value]);
  }
  return out;
}

export function defaultTarget(env: Env, platform: Platform, config?: string): ServiceTarget {
  const root = packageRoot();
  return {
    node: process.execPath,
    entry: join(root, 'dist', 'cli', 'main.js'),
    // The daemon starts in the home directory (systemd) or / (launchd), not here: a relative path would name another
    // file there.
    config: config === undefined ? undefined : configFile(env, config),
    environment: capturedEnvironment(env, platform),
    documentation: pathToFileURL(join(root, 'docs', 'service.md')).href,
  };
}

function fill(template: string, fields: Record<string, string>): string {
  const out = template.replace(/\{\{([A-Z_]+)\}\}/g, (match, name: string) => {
    if (!(name in fields)) throw new Error(`template field ${match} has no value`);
    return fields[name]!;
  });
  return out;
}

function template(...path: string[]): string {
  return readFileSync(join(packageRoot(), ...path), 'utf8');
}

/** The template's first line that names Sentinel: its header comment, which every installed file keeps. */
function markerOf(text: string): string {
  const line = text.split('\n').find((l) => l.includes('Sentinel'));
  if (!line) throw new Error('a service template without its Sentinel header comment');
  return line;
}

// A newline in ExecStart= ends the line, and the next one is read as a directive of the unit (ExecStartPre=, an
// Environment= of the attacker's choosing): no quoting or escaping covers it, and XML 1.0 cannot hold most controls.
function daemonArgs(target: ServiceTarget): string[] {
  const words = daemonWordsUnchecked(target);
  const bad = words.find(hasControlCharacters);
  if (bad !== undefined) {
    throw new SentinelError(
      'UsageError',
      `cannot write a service that runs ${JSON.stringify(bad)}: the path contains control characters (a newline would start a new line of the unit)`,
      {
        hint: 'Use a config file (--config) and a Sentinel and Node installation whose paths have no newlines or other control characters.',
      },
    );
  }
  return words;
}

function daemonWordsUnchecked(target: ServiceTarget): string[] {
  return [
    target.node,
    ...DAEMON_NODE_FLAGS,
    target.entry,
    ...(target.config ? ['--config', target.config] : []),
    'daemon',
    'run',
  ];
}

// systemd.service(5) / systemd.syntax(7): specifiers start with %, ExecStart expands $VARS, words may be quoted.
function systemdWord(word: string): string {
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped}"`;
}

function systemdAssignment(name: string, value: string): string {
  const escaped = `${name}=${value}`.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
  return `Environment="${escaped}"`;
}

// Documentation= is a list of words that systemd unquotes: a ' left in the URL (pathToFileURL keeps it) opens a quote
// that never closes, and systemd drops the line with "Invalid syntax". %27 is the same URL.
function systemdDocumentation(target: ServiceTarget): string {
  return target.documentation.replace(/'/g, '%27').replace(/%/g, '%%');
}

export function systemdUnitDir(env: Env): string {
  return join(configHome(env), 'systemd', 'user');
}

export function systemdUnits(env: Env, target: ServiceTarget, socketActivation: boolean): UnitFile[] {
  const dir = systemdUnitDir(env);
  const documentation = systemdDocumentation(target);
  const serviceTemplate = template('systemd', 'sentinel.service');
  const service = fill(serviceTemplate, {
    DOCUMENTATION: documentation,
    EXEC_START: daemonArgs(target).map(systemdWord).join(' '),
    ENVIRONMENT: target.environment.map(([name, value]) => systemdAssignment(name, value)).join('\n'),
  });
  const files: UnitFile[] = [
    {
      path: join(dir, 'sentinel.service'),
      content: service.replace(/\n{3,}/g, '\n\n'),
      marker: markerOf(serviceTemplate),
    },
  ];
  if (socketActivation) files.push(systemdSocketUnit(env, target));
  return files;
}

/** The socket unit, also for recognising one an earlier `install --socket-activation` left. */
export function systemdSocketUnit(env: Env, target: ServiceTarget): UnitFile {
  const socketTemplate = template('systemd', 'sentinel.socket');
  return {
    path: join(systemdUnitDir(env), 'sentinel.socket'),
    content: fill(socketTemplate, { DOCUMENTATION: systemdDocumentation(target) }),
    marker: markerOf(socketTemplate),
  };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function home(env: Env): string {
  if (!env.HOME || !env.HOME.startsWith('/')) throw new Error('HOME is not set to an absolute path');
  return env.HOME;
}

export function launchdPlistPath(env: Env): string {
  return join(home(env), 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
}

export function launchdLogDir(env: Env): string {
  return join(home(env), 'Library', 'Logs', 'Sentinel');
}

export function launchdPlist(env: Env, target: ServiceTarget): UnitFile {
  const plistTemplate = template('launchd', `${LAUNCHD_LABEL}.plist`);
  const content = fill(plistTemplate, {
    LABEL: LAUNCHD_LABEL,
    PROGRAM_ARGUMENTS: daemonArgs(target)
      .map((arg) => `    <string>${xml(arg)}</string>`)
      .join('\n'),
    ENVIRONMENT: target.environment
      .map(([name, value]) => `    <key>${xml(name)}</key>\n    <string>${xml(value)}</string>`)
      .join('\n'),
    LOG_FILE: xml(join(launchdLogDir(env), 'sentinel.log')),
  });
  return { path: launchdPlistPath(env), content, marker: markerOf(plistTemplate) };
}
