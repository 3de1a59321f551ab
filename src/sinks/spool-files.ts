import { writeSync, ftruncateSync, fdatasyncSync, fdatasync } from 'node:fs';

/** The file operations an append makes; tests pass ones that fail like a full disk. */
export interface SpoolIo {
  write(fd: number, data: Buffer, offset: number, length: number): number;
  /** fdatasync: the data and the file size on stable storage. */
  sync(fd: number): void;
  /** The same in libuv's thread pool, the event loop going on meanwhile. */
  syncAsync?(fd: number): Promise<void>;
  truncate(fd: number, length: number): void;
}

export const nodeIo: SpoolIo = {
  write: (fd, data, offset, length) => writeSync(fd, data, offset, length),
  sync: (fd) => fdatasyncSync(fd),
  syncAsync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  truncate: (fd, length) => ftruncateSync(fd, length),
};

/** An append that did not happen: nothing of it is in the spool. */
export class SpoolWriteError extends Error {
  readonly code: string | undefined;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** One segment file: its number, the bytes known to be whole lines, and the lines not yet committed. */
export interface Segment { id: number; size: number; lines: number }

/** A segment's file name: its number, zero-padded so that names sort in append order. */
export const SEGMENT_NAME = /^(\d{12})\.lp$/;
export const segmentName = (id: number) => `${String(id).padStart(12, '0')}.lp`;
export const NL = 0x0a;

export function countLines(buf: Buffer, end = buf.length): number {
  let n = 0;
  for (let i = buf.indexOf(NL); i !== -1 && i < end; i = buf.indexOf(NL, i + 1)) n++;
  return n;
}
