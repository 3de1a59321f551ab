import { describe, it, expect } from 'vitest';
import { memoryLogger } from '../fakes/logger.ts';
import { scrub } from '../../src/log.ts';

describe('log lines', () => {
  it.each([
    ['a token in a URL fragment', 'http://127.0.0.1:8088/ui/#token=s3cr3t-Tok_en', 'http://127.0.0.1:8088/ui/#token=[redacted]'],
    ['a token in a query', 'https://x/hook?a=1&token=abc123&b=2', 'https://x/hook?a=1&token=[redacted]&b=2'],
    ['a password in a URL', 'mqtts://netpulse:hunter2@broker:8883', 'mqtts://netpulse:[redacted]@broker:8883'],
    ['a PostgreSQL URL', 'postgres://np:p%40ss@db:5432/netpulse', 'postgres://np:[redacted]@db:5432/netpulse'],
    ['a bearer token', 'Authorization: Bearer abc.def-123', 'Authorization: Bearer [redacted]'],
    ['nothing secret', 'http://127.0.0.1:8088/ui/ and mqtt://broker:1883', 'http://127.0.0.1:8088/ui/ and mqtt://broker:1883'],
  ])('scrubs %s', (_what, text, out) => {
    expect(scrub(text)).toBe(out);
  });

  it('never carries a credential, whether in a field, nested, an error or the message', () => {
    const { logger, lines } = memoryLogger();
    logger.info({ url: 'http://h/ui/#token=AAAA1111', token: 'BBBB2222', nested: { broker: 'mqtt://u:CCCC3333@b' } }, 'dashboard');
    logger.error({ err: new Error('connect failed: postgres://np:DDDD4444@db/x') }, 'store');
    logger.warn('cannot reach https://x/?token=EEEE5555');
    const text = JSON.stringify(lines);
    for (const secret of ['AAAA1111', 'BBBB2222', 'CCCC3333', 'DDDD4444', 'EEEE5555']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ url: 'http://h/ui/#token=[redacted]', token: '[redacted]', nested: { broker: 'mqtt://u:[redacted]@b' } });
  });

  it('scrubs an error logged alone, a child logger\'s bindings, arrays and deep objects, and keeps the error whole', () => {
    const { logger, lines } = memoryLogger();
    logger.error(new Error('connect failed: mqtt://np:FFFF6666@broker'));
    logger.child({ broker: 'mqtts://np:GGGG7777@broker:8883' }).info('connected');
    logger.info({ urls: ['mqtt://np:HHHH8888@a', 'ok'], a: { b: { c: { d: { e: { url: 'http://u:IIII9999@h/' } } } } } }, 'nested');
    const err = Object.assign(new Error('x'), { request: { url: 'http://admin:JJJJ0000@influx:8086/' } });
    logger.error({ err }, 'with props');
    const text = JSON.stringify(lines);
    for (const secret of ['FFFF6666', 'GGGG7777', 'HHHH8888', 'IIII9999', 'JJJJ0000']) expect(text).not.toContain(secret);
    expect(lines[3].err).toMatchObject({ type: 'Error', message: 'x', request: { url: 'http://admin:[redacted]@influx:8086/' } });
    expect(lines[0].msg).toBe('connect failed: mqtt://np:[redacted]@broker');
  });
});
