import { describe, it, expect } from 'vitest';
import { AlertStream } from '../../src/alerts/sse.ts';
import type { Alert } from '../../src/alerts/alert.ts';

const alert = (id: string) => ({ id, outageId: 'AGG-7@1', alarmDetails: id }) as unknown as Alert;

describe('the alert stream (GET /v1/alerts/stream)', () => {
  it('replays what a reconnecting client missed after its Last-Event-ID, then follows', async () => {
    const stream = new AlertStream(10);
    const port = await stream.listen('127.0.0.1', 0);
    const ac = new AbortController();
    try {
      for (const id of ['a1', 'a2', 'a3']) stream.publish(alert(id));
      const res = await fetch(`http://127.0.0.1:${port}/v1/alerts/stream`, { headers: { 'last-event-id': 'a1' }, signal: ac.signal });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('id: a3')) text += (await reader.read()).value ?? '';
      stream.publish(alert('a4'));
      while (!text.includes('id: a4')) text += (await reader.read()).value ?? '';
      expect(text.startsWith(': netpulse alerts\n')).toBe(true);
      expect([...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1])).toEqual(['a2', 'a3', 'a4']);
      expect(text).toContain('event: alert\ndata: {"id":"a2","outageId":"AGG-7@1","alarmDetails":"a2"}');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      ac.abort();
      await stream.close();
    }
  });
});
