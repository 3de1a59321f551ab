// The API as the dashboard reads it: a bearer token, JSON, and the live event stream.

const TOKEN_KEY = 'netpulse.token';
export class Unauthorized extends Error {}

export const session = { token: null };

/** The token from the address bar (`#token=`, then taken out of it) or from the last visit. */
export function takeToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return localStorage.getItem(TOKEN_KEY);
}

export function keepToken(token) {
  session.token = token;
  localStorage.setItem(TOKEN_KEY, token);
}

export async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { authorization: `Bearer ${session.token}`, ...(options.body && { 'content-type': 'application/json' }), ...options.headers } });
  if (res.status === 401 || res.status === 403) throw new Unauthorized(`${res.status} on ${path}`);
  if (!res.ok) throw new Error(`${res.status} on ${path}`);
  return res.status === 204 ? null : res.json();
}

/** A query string of the defined values. */
export const qs = (o) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const t = p.toString();
  return t ? `?${t}` : '';
};

/**
 * Follows /v1/events with fetch (EventSource cannot send the bearer token); reconnects with
 * backoff. `connected` runs at each (re)connection (read what happened meanwhile); `onEvent` per event.
 */
export async function follow({ onEvent, connected, live, refused }) {
  let wait = 1000;
  for (;;) {
    try {
      const res = await fetch('/v1/events', { headers: { authorization: `Bearer ${session.token}`, accept: 'text/event-stream' } });
      if (res.status === 401 || res.status === 403) throw new Unauthorized('events');
      if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
      live(true, 'live');
      wait = 1000;
      connected();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = 'message', data = '';
          for (const line of frame.split('\n')) {
            if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (data) onEvent(type, JSON.parse(data));
        }
      }
    } catch (err) {
      if (err instanceof Unauthorized) return refused();
    }
    live(false, 'reconnecting…');
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 30_000);
  }
}
