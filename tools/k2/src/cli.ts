import { formatHelp, wantsHelp } from '@k2/core';
import { UsageError } from './args';
import { ApiError } from './client';
import { runExport } from './commands/export';
import { runRead } from './commands/read';
import { runReplay } from './commands/replay';
import { ROUTE_COMMANDS } from './commands/spec';
import { commandHelp, exportHelp, mainHelp, replayHelp } from './help';
import { EXIT, type ExitCode, type K2Io } from './io';

export const VERSION = '0.1.0';

const COMMAND_NAMES = [...ROUTE_COMMANDS.map((c) => c.name), 'replay', 'export'];

/** A helpful word for a command that does not exist (`k2 trade` → trades). */
function suggestion(name: string): string {
  const near = name.length >= 3 ? COMMAND_NAMES.find((n) => n.startsWith(name.slice(0, 3))) : undefined;
  return near ? `; did you mean ${near}?` : `; commands: ${COMMAND_NAMES.join(', ')}`;
}

async function dispatch(argv: readonly string[], io: K2Io): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError(`a command is needed: ${COMMAND_NAMES.join(', ')}`);
  if (name === '--help' || name === '-h' || name === 'help') {
    await io.out(mainHelp());
    return EXIT.ok;
  }
  if (name === '--version') {
    await io.out(`k2 ${VERSION}\n`);
    return EXIT.ok;
  }
  const cmd = ROUTE_COMMANDS.find((c) => c.name === name);
  const help = cmd ? () => commandHelp(cmd) : name === 'export' ? exportHelp : name === 'replay' ? replayHelp : undefined;
  if (!help) throw new UsageError(`unknown command ${name}${suggestion(name)}`);
  if (wantsHelp(rest)) {
    await io.out(formatHelp(help()));
    return EXIT.ok;
  }
  if (cmd) return runRead(cmd, rest, io);
  return name === 'export' ? runExport(rest, io) : runReplay(rest, io);
}

/**
 * k2's whole run: the exit code, with every failure reported as one line on stderr — `k2: <code>: <message>` for
 * the API's and the network's (exit 1), `k2: <problem> (see k2 --help)` for usage errors (exit 2).
 */
export async function runK2(argv: readonly string[], io: K2Io): Promise<ExitCode> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      const cmd = COMMAND_NAMES.includes(argv[0] ?? '') ? `k2 ${argv[0]}` : 'k2';
      io.err(`k2: ${e.message} (see ${cmd} --help)\n`);
      return EXIT.usage;
    }
    if (io.signal.aborted) return EXIT.interrupted;
    if (e instanceof ApiError) {
      io.err(`k2: ${e.code}: ${e.message}\n`);
      return EXIT.failure;
    }
    io.err(`k2: K2_INTERNAL: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failure;
  }
}
