// The host's WIT resources as jco's glue holds them (jco 1.12.0, the version host/component/jco.ts
// pins).
//
// The glue keeps one table of handles per resource type, each slot the rep of an object
// (rscTableCreateOwn; `obj[Symbol.for('cabiRep')]`, or a count of its own when the object has
// none), and finds a borrowed handle's object again with `captureTableN.get(rep)`. Where it
// finds none (a handle that was never given, or was dropped: rscTableRemove leaves the rep in
// the freed slot) it hands the host a stand-in, `Object.create(X.prototype)` of the class X
// the host gave it for the type, and the host's method then runs on that object.
//
// So, here:
// - Every resource takes its rep from its instance's registry (Reps), one rep to one object,
//   which makes every rep in every table of the glue name one object of that table's type
//   (lower.ts relies on it to tell the tables apart), and a rep is given again only after
//   all others have been: given again at once, the rep a dropped handle left behind named the
//   next resource given it, which the glue's lookup then found for the dropped handle.
// - The class the glue is given for a type (resourceClass) has a prototype whose every method
//   traps, so that a stand-in cannot act on anything: a call on it, or the host's `held` check
//   of a resource passed as an argument, traps as the canonical ABI's lift of an invalid handle
//   does (CanonicalABI.md, lift_borrow and lift_own: `trap_if` on an invalid index).
import type { Context } from '../sandbox/context.js';
import { componentTrap, DISPOSE } from './host.js';

export const CABI_LOWER: symbol = Symbol.for('cabiLower');
export const CABI_REP: symbol = Symbol.for('cabiRep');
/** jco's own-handle and free-slot flag (its glue's T_FLAG): a rep stays below it. */
export const T_FLAG = 1 << 30;

/**
 * One instance's resources by rep, while the guest holds them: an object gets a rep when the
 * glue first asks for one (it is handed to the guest) and loses it when the guest drops its
 * handle (the glue calls its dispose). Reps are given in turn, as Linux gives process IDs: the
 * one after the last given, wrapping below T_FLAG, skipping those in use, so that a rep comes
 * back only once the count has gone round all 2^30 - 1 since it was given. (The glue's own
 * count for objects without a rep never comes back, and past 2^30 runs into T_FLAG.) A
 * dropped handle can thus reach a new resource only once the guest has had 2^30 - 1 resources
 * made since that rep was given, and then only one of its own, of the same type.
 */
export class Reps {
  private readonly objects = new Map<number, Resource>();
  private next = 1; // rep 0 means "none" to the glue

  add(o: Resource): number {
    if (this.objects.size >= T_FLAG - 1) componentTrap('too many resources');
    let rep = this.next;
    while (this.objects.has(rep)) rep = rep === T_FLAG - 1 ? 1 : rep + 1;
    this.next = rep === T_FLAG - 1 ? 1 : rep + 1;
    this.objects.set(rep, o);
    return rep;
  }

  get(rep: number): Resource | undefined {
    return this.objects.get(rep);
  }

  /** The object of `rep` if its class is exactly `cls` (the host's resource classes are not subclassed). */
  getOf<T>(rep: number, cls: abstract new (...a: never[]) => T): T | undefined {
    const o = this.objects.get(rep);
    return o !== undefined && o.constructor === cls ? o as T : undefined;
  }

  remove(rep: number): void {
    if (rep > 0) this.objects.delete(rep);
  }
}

const registries = new WeakMap<Context, Reps>();
export function repsOf(ctx: Context): Reps {
  let r = registries.get(ctx);
  if (r === undefined) registries.set(ctx, r = new Reps());
  return r;
}

/**
 * A host object the guest holds by handle. The host hands each one to the guest once (a call
 * that gives a resource makes a new object), so that the guest's dropping that one handle is
 * the end of the object's rep.
 */
export abstract class Resource {
  #rep = 0;
  constructor(readonly ctx: Context) {}

  get [CABI_REP](): number {
    return this.#rep ||= repsOf(this.ctx).add(this);
  }

  /** The glue calls it when the guest drops the handle: the rep is free, and the object released. */
  [DISPOSE](): void {
    repsOf(this.ctx).remove(this.#rep);
    this.#rep = 0;
    this.released();
  }

  /** What the guest's dropping its handle does besides (a descriptor it owns is closed). */
  protected released(): void {}
}

/** Each face resourceClass made, with the class it stands for, and the other way round. */
const faces = new WeakMap<Function, Function>();
const faceOf = new WeakMap<Function, Function>();

/**
 * The class the glue is given for the resource class `cls`: `instanceof` it is `instanceof
 * cls` (the glue checks what the host returns), and its prototype, from which the glue makes
 * its stand-ins, has every method of cls's (own or inherited) as one that traps. A method
 * the host lowers itself keeps its lowering there, where the glue looks for it.
 */
export function resourceClass(cls: abstract new (...a: never[]) => Resource, name: string): Function {
  const made = faceOf.get(cls);
  if (made !== undefined) return made; // one face per class, however many instances
  const face = function (): never { return componentTrap(`${name} is made by the host only`); };
  const proto: Record<PropertyKey, unknown> = {};
  for (let p = cls.prototype; p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Reflect.ownKeys(p)) {
      if (key === 'constructor' || Object.hasOwn(proto, key)) continue;
      const d = Object.getOwnPropertyDescriptor(p, key)!;
      const invalid = (): never => componentTrap(`invalid ${name} handle (dropped, or never given)`);
      if (typeof d.value === 'function') {
        const lower = (d.value as Record<symbol, unknown>)[CABI_LOWER];
        if (lower !== undefined) Object.defineProperty(invalid, CABI_LOWER, { value: lower });
        proto[key] = invalid;
      } else if (d.get !== undefined) {
        Object.defineProperty(proto, key, { get: invalid });
      }
    }
  }
  Object.defineProperty(face, 'prototype', { value: proto });
  Object.defineProperty(face, Symbol.hasInstance, { value: (o: unknown) => o instanceof cls });
  Object.defineProperty(face, 'name', { value: cls.name });
  faces.set(face, cls);
  faceOf.set(cls, face);
  return face;
}

/** The class `face` stands for, if resourceClass made it. */
export function classOfFace(face: Function): Function | undefined {
  return faces.get(face);
}

/**
 * `o` if it is one of the host's `cls` objects: a resource the glue passed as an argument,
 * which for a handle it could not find is a stand-in, and traps.
 */
export function held<T>(o: unknown, cls: abstract new (...a: never[]) => T, name: string): T {
  if (!(o instanceof cls)) componentTrap(`invalid ${name} handle (dropped, or never given)`);
  return o as T;
}
