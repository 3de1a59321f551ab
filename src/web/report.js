// The service report page: reads /v1/reports/service with the dashboard's token (a manager's, the
// NOC's) and shows the report the daemon drew (its SVG charts included); prints to PDF.
'use strict';

const TOKEN_KEY = 'netpulse.token';
const $ = (s) => document.querySelector(s);

function token() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return localStorage.getItem(TOKEN_KEY);
}

async function fetchReport(format) {
  const q = new URLSearchParams({ month: $('#month').value, format });
  if ($('#whatif').value) q.set('whatIf', $('#whatif').value);
  const res = await fetch(`/v1/reports/service?${q}`, { headers: { authorization: `Bearer ${token()}` } });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  }
  return res.text();
}

async function show() {
  $('#status').textContent = 'computing…';
  $('#status').classList.remove('error');
  try {
    const html = await fetchReport('html');
    // The report's own styles are this page's (report.css, the same): its inline copy is left out (the page's CSP
    // allows no inline style, and a parsed document inherits it); the body comes in as parsed nodes, no script.
    const doc = new DOMParser().parseFromString(html.replace(/<style>[\s\S]*?<\/style>/, ''), 'text/html');
    $('#report').replaceChildren(...[...doc.body.childNodes].map((n) => document.importNode(n, true)));
    document.title = doc.title;
    $('#status').textContent = '';
    document.body.dataset.loaded = $('#month').value;
  } catch (err) {
    $('#status').textContent = `The report could not be read: ${err.message}`;
    $('#status').classList.add('error');
  }
}

async function csv() {
  const text = await fetchReport('csv');
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  a.download = `service-report-${$('#month').value}.csv`;
  a.click();
  URL.revokeObjectURL(a.href);
}

const last = new Date();
last.setUTCDate(1);
last.setUTCMonth(last.getUTCMonth() - 1);
$('#month').value = new URLSearchParams(location.search).get('month') ?? last.toISOString().slice(0, 7);
$('#controls').addEventListener('submit', (ev) => { ev.preventDefault(); void show(); });
$('#print').addEventListener('click', () => window.print());
$('#csv').addEventListener('click', () => { void csv().catch((err) => { $('#status').textContent = err.message; }); });
token();
void show();
