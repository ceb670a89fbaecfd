// The command line's shared core: option parsing (Node's util.parseArgs), help, --version and
// the one style of error every command shares.
//
// Adding a command: write host/cli/NAME.ts exporting a `Command` (its name, a one-line summary,
// its operands, its options as util.parseArgs takes them plus a `help` line and a value name,
// and `run`), then list it in host/cli/commands.ts. The core gives it `-h/--help`,
// `-V/--version`, its usage line in errors and its entry in `wasm-zerocopy --help`. A command
// that runs a guest sets `passThrough`: options stop at its first operand (the module), and
// everything after that reaches the guest untouched, flags included.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { strerror } from '../native/libc.js';

export const PROGRAM = 'wasm-zerocopy';

/** A command line the parser refuses: printed with the command's usage, exit 2. */
export class UsageError extends Error {}

/**
 * Something the command line names cannot be used (a missing file, a module that is not a
 * command, a directory that is not one): one line, no usage, exit 2. Failures while running
 * (a port in use) are plain Errors: one line, exit 1.
 */
export class InputError extends Error {}

/** A Node system error in words, as strerror(3) has them: "no such file or directory". */
export function systemError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const n = (constants.errno as Record<string, number>)[code];
  if (n === undefined) return (e as Error).message;
  return strerror(n).toLowerCase();
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's name in the help, for string options: `HOST[::GUEST]`. */
  value?: string;
  /** One line (or a few, joined with \n) for the help. */
  help: string;
}

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  name: string;
  /** One line for `wasm-zerocopy --help`. */
  summary: string;
  /** The operands, as the usage line shows them: `MODULE.wasm [ARGS...]`. */
  operands: string;
  options: Record<string, OptionSpec>;
  /** Options stop at the first operand; it and everything after it go to `run` untouched. */
  passThrough?: boolean;
  /** Paragraphs printed after the options in the command's help. */
  notes?: string;
  /** Returns the exit status. `operands` are the positional arguments, in order. */
  run(values: Values, operands: string[]): Promise<number>;
}

const COMMON: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', short: 'V', help: 'print the version' },
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function usageLine(cmd: Command): string {
  return `usage: ${PROGRAM} ${cmd.name} [OPTIONS] ${cmd.operands}`;
}

function optionLines(options: Record<string, OptionSpec>): string {
  const rows = Object.entries({ ...options, ...COMMON }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return [flag, o.help] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return rows.map(([f, h]) => `  ${f.padEnd(width)}${h.split('\n').join('\n' + ' '.repeat(width + 2))}`).join('\n');
}

export function commandHelp(cmd: Command): string {
  return `${usageLine(cmd)}\n\n${cmd.summary}\n\noptions:\n${optionLines(cmd.options)}\n${cmd.notes ? `\n${cmd.notes}\n` : ''}`;
}

export function programHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `usage: ${PROGRAM} COMMAND [OPTIONS] ...\n\ncommands:\n` +
    commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n') +
    `\n\noptions:\n  -h, --help     show this help\n  -V, --version  print the version\n\n` +
    `Run '${PROGRAM} COMMAND --help' for a command's options.\n`;
}

/** util.parseArgs's messages, made one line in our words. */
function parseError(e: unknown): UsageError {
  const err = e as { code?: string; message: string };
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
  const flag = quoted.replace(/ <value>$/, '');
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return new UsageError(`unknown option: ${flag}`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return new UsageError(`unexpected argument: ${flag}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(err.message)) return new UsageError(`${flag} takes no value`);
      if (/ambiguous/.test(err.message)) return new UsageError(`${flag} needs a value (write ${flag}=-VALUE for one that starts with a dash)`);
      return new UsageError(`${flag} needs a value`);
    default: return new UsageError(err.message.split('\n')[0]);
  }
}

export interface Parsed { values: Values; operands: string[] }

/** Parses a command's arguments (after its name). */
export function parse(cmd: Command, argv: readonly string[]): Parsed {
  const options = Object.fromEntries(Object.entries({ ...cmd.options, ...COMMON })
    .map(([name, o]) => [name, { type: o.type, multiple: o.multiple ?? false, ...(o.short ? { short: o.short } : {}) }]));
  // A first, lenient pass reads each known option's value as POSIX has it (an option-argument
  // may start with a dash: `--timeout -1` is refused by its value's check, not as ambiguous)
  // and finds where a passThrough command's options end; the strict pass reads them again,
  // each value written inline.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const first = cmd.passThrough ? tokens.find((t) => t.kind === 'positional') : undefined;
  const end = first === undefined ? argv.length : first.index + 1;
  const head: string[] = [];
  for (const t of tokens) {
    if (t.index >= end) break;
    if (t.kind === 'option' && options[t.name]?.type === 'string' && t.value !== undefined) head.push(`--${t.name}=${t.value}`);
    else if (t.kind === 'option') head.push(t.rawName + (t.inlineValue ? `=${t.value}` : ''));
    else if (t.kind === 'positional') head.push(t.value);
    else head.push('--');
  }
  const tail = argv.slice(end);
  try {
    const { values, positionals } = parseArgs({ args: head, options, strict: true, allowPositionals: true });
    return { values, operands: [...positionals, ...tail] };
  } catch (e) {
    throw parseError(e);
  }
}

/** Runs `argv` (without node and the script); returns the exit status. */
export async function main(commands: readonly Command[], argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const out = (text: string) => { process.stdout.write(text); };
  const fail = (text: string) => { process.stderr.write(`${PROGRAM}: ${text}\n`); };
  if (name === '-h' || name === '--help' || name === 'help') { out(programHelp(commands)); return 0; }
  if (name === '-V' || name === '--version') { out(`${PROGRAM} ${version()}\n`); return 0; }
  const cmd = commands.find((c) => c.name === name);
  if (cmd === undefined) {
    fail(name === undefined ? 'no command given' : `unknown command: ${name}`);
    process.stderr.write(`usage: ${PROGRAM} COMMAND [OPTIONS] ... (commands: ${commands.map((c) => c.name).join(', ')})\n` +
      `Run '${PROGRAM} --help' for more.\n`);
    return 2;
  }
  try {
    const { values, operands } = parse(cmd, rest);
    if (values.help) { out(commandHelp(cmd)); return 0; }
    if (values.version) { out(`${PROGRAM} ${version()}\n`); return 0; }
    return await cmd.run(values, operands);
  } catch (e) {
    if (e instanceof UsageError) {
      fail(e.message);
      process.stderr.write(`${usageLine(cmd)}\nRun '${PROGRAM} ${cmd.name} --help' for more.\n`);
      return 2;
    }
    if (e instanceof InputError) { fail(e.message); return 2; }
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError)) { fail(e.message); return 1; }
    throw e;
  }
}
