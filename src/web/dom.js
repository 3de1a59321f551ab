// DOM and formatting helpers shared by the dashboard's modules.

export const $ = (sel) => document.querySelector(sel);

/** Builds an element; strings become text nodes, so nothing from the API is ever parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'style') node.style.cssText = v; // through the CSSOM: the page's CSP allows no inline style attributes
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
/** An SVG element with its attributes (and text). */
export function s(tag, attrs = {}, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

export const fmtInt = (n) => (n ?? 0).toLocaleString('en-US');
export function fmtDuration(ms) {
  const sec = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(sec / 86400), hh = Math.floor((sec % 86400) / 3600), mm = Math.floor((sec % 3600) / 60), ss = sec % 60;
  const two = (x) => String(x).padStart(2, '0');
  return d > 0 ? `${d}d ${two(hh)}:${two(mm)}:${two(ss)}` : hh > 0 ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}
export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '');
export const fmtMoney = (minor, currency) => `${(minor / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;

/** Runs `fn` once in the next animation frame, however many times it is asked for before then. */
const frames = new Map();
export function onFrame(key, fn) {
  if (frames.has(key)) return;
  frames.set(key, requestAnimationFrame(() => { frames.delete(key); fn(); }));
}

const soon = new Map();
/** Runs `fn` once within `ms`, however many events ask for it. */
export function debounce(key, ms, fn, report) {
  if (soon.has(key)) return;
  soon.set(key, setTimeout(() => { soon.delete(key); Promise.resolve().then(fn).catch(report); }, ms));
}
