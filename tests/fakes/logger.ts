import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.ts';

/** The daemon's own logger (redaction and all) writing into an array, so tests read what would be logged. */
export function memoryLogger() {
  const lines: any[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(chunk.toString())); cb(); } });
  return { logger: createLogger({ level: 'debug', destination: stream }), lines };
}
