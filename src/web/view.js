// What the page shows, kept in the address bar (`?region=…&site=…&element=…&kind=…&state=…`), so a
// link opens the same view. Back and forward move between views.

const KEYS = ['region', 'site', 'element', 'kind', 'state', 'wall'];
const listeners = [];

export const view = read();

function read() {
  const p = new URLSearchParams(location.search);
  return Object.fromEntries(KEYS.map((k) => [k, p.get(k) || undefined]));
}

/** Changes the view (undefined clears a key), records it in the address bar and tells the listeners. */
export function go(change, { replace = false } = {}) {
  Object.assign(view, change);
  const p = new URLSearchParams();
  for (const k of KEYS) if (view[k]) p.set(k, view[k]);
  const url = `${location.pathname}${p.toString() ? `?${p}` : ''}`;
  if (url !== location.pathname + location.search) history[replace ? 'replaceState' : 'pushState'](null, '', url);
  for (const l of listeners) l(view);
}

export function onView(l) {
  listeners.push(l);
}

addEventListener('popstate', () => {
  Object.assign(view, read());
  for (const l of listeners) l(view);
});
