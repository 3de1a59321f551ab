import pino from 'pino';
import { Writable } from 'node:stream';

/** A real pino logger writing into an array, so tests can read what was logged. */
export function memoryLogger() {
  const lines: any[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(chunk.toString())); cb(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
