// Every command group, in the order `sentinel --help` lists them. A group is a file in cli/ exporting
// `register(program)`; it must import only light modules at its top (see program.ts).
import type { Command } from 'commander';

export const COMMAND_GROUPS: Array<(program: Command) => void> = [];
