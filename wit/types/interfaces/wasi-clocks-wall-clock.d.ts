/** @module Interface wasi:clocks/wall-clock@0.2.3 **/
export interface Datetime {
  seconds: bigint,
  nanoseconds: number,
}
