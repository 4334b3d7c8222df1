// Every command group, in the order `sentinel --help` lists them. A group is a file in cli/ exporting
// `register(program)`; it must import only light modules at its top (see program.ts).
import type { Command } from 'commander';
import { register as daemon } from './daemon.js';
import { register as policy } from './policy.js';
import { register as shell } from './shell.js';
import { register as exec } from './exec.js';
import { register as credentials } from './credentials.js';
import { register as whoami } from './whoami.js';
import { register as service } from './service.js';
import { register as completion } from './completion.js';
import { register as server } from './server.js';
import { register as init } from './init.js';
import { register as audit } from './audit.js';
import { register as enforce } from './enforce.js';
import { register as permissions } from './permissions.js';
import { register as config } from './config.js';
import { register as requests } from './requests.js';
import { register as breakglass } from './breakglass.js';

export const COMMAND_GROUPS: Array<(program: Command) => void> = [
  daemon,
  policy,
  shell,
  exec,
  credentials,
  whoami,
  service,
  completion,
  server,
  init,
  audit,
  enforce,
  permissions,
  config,
  requests,
  breakglass,
];
