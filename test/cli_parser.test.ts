// The command line's shared core (host/cli/core.ts): util.parseArgs under every command, so
// that each gets the same help, errors and --version, and a guest's arguments pass untouched.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandHelp, parse, programHelp, UsageError, type Command } from '../host/cli/core.js';
import { commands } from '../host/cli/commands.js';
import { GUESTS, ROOT, runCli } from './helpers/guest.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** A command as a new module would declare it: nothing but its own options. */
const toy: Command = {
  name: 'toy', summary: 'a command for the tests', operands: 'MODULE [ARGS...]', passThrough: true,
  options: { dir: { type: 'string', multiple: true, value: 'DIR', help: 'a directory' }, flag: { type: 'boolean', help: 'a flag' } },
  run: async () => 0,
};

const core = suite('the command line core: parsing');

core('options stop at the first operand; everything after it is passed through untouched', () => {
  const r = parse(toy, ['--dir', 'a', '--flag', 'm.wasm', '--dir', 'b', '-h', '--version', '--', 'x']);
  assert.equal(r.values.dir, ['a']);
  assert.is(r.values.flag, true);
  assert.is(r.values.help, undefined);
  assert.equal(r.operands, ['m.wasm', '--dir', 'b', '-h', '--version', '--', 'x']);
});

core('-- ends the options, so a module may start with a dash', () => {
  assert.equal(parse(toy, ['--flag', '--', '-m.wasm', 'a']).operands, ['-m.wasm', 'a']);
});

core('an option value may start with a dash (--dir=-x and --dir -x alike)', () => {
  assert.equal(parse(toy, ['--dir', '-x', 'm']).values.dir, ['-x']);
  assert.equal(parse(toy, ['--dir=-y', 'm']).values.dir, ['-y']);
});

core('every command refuses the same mistakes with the same one-line messages', () => {
  const cases: [string[], string][] = [
    [['--frobnicate', 'm'], 'unknown option: --frobnicate'],
    [['-q', 'm'], 'unknown option: -q'],
    [['--dir'], '--dir needs a value'],
    [['--flag=yes', 'm'], '--flag takes no value'],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parse(toy, argv), (e: Error) => e instanceof UsageError && e.message === message, argv.join(' '));
  }
});

core('-h/--help and -V/--version come with every command, in its help too', () => {
  for (const cmd of [toy, ...commands]) {
    assert.is(parse(cmd, ['-h']).values.help, true, cmd.name);
    assert.is(parse(cmd, ['--version']).values.version, true, cmd.name);
    const help = commandHelp(cmd);
    assert.match(help, new RegExp(`^usage: wasm-zerocopy ${cmd.name} \\[OPTIONS\\] `));
    assert.match(help, /\n {2}-h, --help +show this help\n {2}-V, --version +print the version\n/);
  }
  assert.match(programHelp([...commands, toy]), /\n {2}toy +a command for the tests\n/);
});
core.run();

// ---------------------------------------------------------------------------------------
const cli = suite('the command line core: help, --version and errors from the CLI');

cli('--version and -V print the version, alone or after any command', () => {
  for (const argv of [['--version'], ['-V'], ['run', '--version'], ['send-file', '-V']]) {
    const r = runCli(argv);
    assert.is(r.status, 0, argv.join(' '));
    assert.is(r.stdout, `wasm-zerocopy ${VERSION}\n`, argv.join(' '));
  }
});

cli('--help lists every command; COMMAND --help shows its options, exit 0', () => {
  const r = runCli(['--help']);
  assert.is(r.status, 0);
  for (const c of commands) assert.match(r.stdout, new RegExp(`\\n {2}${c.name} +${c.summary.replace(/[()]/g, '\\$&')}\\n`));
  for (const c of commands) {
    const h = runCli([c.name, '--help']);
    assert.is(h.status, 0, c.name);
    assert.is(h.stdout, commandHelp(c));
  }
});

cli('a guest\'s -h and --version after the module are the guest\'s', () => {
  const r = runCli(['run', join(GUESTS, 'env.wasm'), '-h', '--version']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /argv\[1\]=-h\nargv\[2\]=--version\n/);
});
cli.run();
