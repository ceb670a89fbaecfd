// Option values shared by commands: each parser takes the raw string and returns the value,
// or throws a UsageError naming the flag.
import { closeSync, constants, openSync } from 'node:fs';
import { parseListen } from '../listen.js';
import { connectGrants } from '../zerocopy/connect.js';
import { InputError, UsageError, systemError, type OptionSpec } from './core.js';

export const LISTEN: OptionSpec = {
  type: 'string', multiple: true, value: 'HOST:PORT',
  help: 'a TCP listener for the guest at descriptor 3, 4, ... ([IPv6]:PORT too; "systemd" for\nthe sockets of systemd socket activation); the guest gets LISTEN_FDS=<count>',
};
export const MAX_FDS: OptionSpec = { type: 'string', value: 'N', help: 'the guest may hold at most N descriptors (default 1024): then mfile' };
export const CONNECT: OptionSpec = {
  type: 'string', multiple: true, value: 'HOST:PORT',
  help: 'let the guest open TCP connections to this address, and to no other ([IPv6]:PORT too)',
};
export const WORKERS: OptionSpec = { type: 'string', value: 'N', help: 'run N instances in worker threads, sharing the listeners' };

export interface DirSpec { host: string; guest: string }

/** --dir HOST[::GUEST]: a host directory, and the name the guest sees it by (default HOST). */
export function parseDir(spec: string): DirSpec {
  const sep = spec.indexOf('::');
  const host = sep < 0 ? spec : spec.slice(0, sep);
  const guest = sep < 0 ? spec : spec.slice(sep + 2);
  if (host === '' || guest === '') throw new UsageError(`--dir ${spec}: expected HOST or HOST::GUEST`);
  // Opened once here so that each way it can fail gets its own words, before anything starts.
  let fd: number;
  try {
    fd = openSync(host, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : systemError(e);
    throw new InputError(`--dir ${spec}: ${why}: ${host}`);
  }
  closeSync(fd);
  return { host, guest };
}

/** --env NAME=VALUE */
export function parseEnv(spec: string): [string, string] {
  const at = spec.indexOf('=');
  if (at <= 0) throw new UsageError(`--env ${spec}: expected NAME=VALUE`);
  return [spec.slice(0, at), spec.slice(at + 1)];
}

/** --listen HOST:PORT, checked before anything is bound. */
export function checkListen(spec: string): string {
  try {
    parseListen(spec);
  } catch (e) {
    throw new UsageError(`--listen ${(e as Error).message}`);
  }
  return spec;
}

/** --connect HOST:PORT (and --to): an address a guest may connect to, checked before anything starts. */
export function checkConnect(spec: string, flag = '--connect'): string {
  try {
    connectGrants([spec]);
  } catch (e) {
    throw new UsageError(`${flag} ${(e as Error).message}`);
  }
  return spec;
}

/** --timeout SECONDS: a whole number of seconds, or a decimal one, from 0.001 to a day. */
export function parseTimeout(v: string, flag = '--timeout'): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < 0.001 || n > 86400) throw new UsageError(`${flag} ${v}: expected seconds from 0.001 to 86400`);
  return n;
}

/** --workers N */
export function parseWorkers(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1024) throw new UsageError(`--workers ${v}: expected a count from 1 to 1024`);
  return n;
}

/** --max-fds N: the guest's descriptor limit (SandboxOptions.maxFds). */
export function parseMaxFds(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 3 || n > 1 << 20) throw new UsageError(`--max-fds ${v}: expected a count from 3 to ${1 << 20}`);
  return n;
}
