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
});
