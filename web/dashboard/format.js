// Formatting and small DOM helpers shared by the views.

/** Escapes text for HTML (element content and quoted attribute values). */
export function esc(value) {
  return String(value ?? '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export const NA = 'n/a';

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

function pad(n, width = 2) {
  return String(n).padStart(width, '0');
}

/** Epoch ms -> "2024-05-01 13:45:07" in the browser's time zone; n/a for missing (<= 0). */
export function time(ms) {
  if (!isNum(ms) || ms <= 0) return '-';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
         `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Epoch ms -> "13:45:07.123" (for watermarks and checkpoint times within a day). */
export function timeMs(ms) {
  if (!isNum(ms)) return NA;
  const d = new Date(ms);
  return `${time(ms)}.${pad(d.getMilliseconds(), 3)}`;
}

/** Milliseconds -> "850 ms", "12.3 s", "4m 05s", "2h 03m", "3d 04h". */
export function duration(ms) {
  if (!isNum(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const total = Math.floor(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (d > 0) return `${d}d ${pad(h)}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(sec)}s`;
}

/** Bytes -> "512 B", "1.5 KiB", "3.20 GiB". */
export function bytes(n) {
  if (!isNum(n) || n < 0) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  if (i === 0) return `${v} B`;
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** A count -> "950", "12.3k", "4.56M", "7.1G" (for records and rates). */
export function count(n) {
  if (!isNum(n)) return NA;
  const a = Math.abs(n);
  if (a < 1000) return Number.isInteger(n) ? String(n) : n.toFixed(a < 10 ? 1 : 0);
  const units = [['G', 1e9], ['M', 1e6], ['k', 1e3]];
  for (const [u, f] of units) {
    if (a >= f) {
      const v = n / f;
      return `${v.toFixed(Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0)}${u}`;
    }
  }
  return String(n);
}

/** Integer with thousands separators: 3000000 -> "3,000,000". */
export function integer(n) {
  if (!isNum(n)) return NA;
  return Math.round(n).toLocaleString('en-US');
}

/** Ratio 0..1 -> "42%". */
export function percent(r) {
  if (!isNum(r)) return NA;
  return `${Math.round(r * 100)}%`;
}

/** Relative age of an epoch-ms instant: "3 s ago". */
export function ago(ms, now = Date.now()) {
  if (!isNum(ms) || ms <= 0) return NA;
  const d = Math.max(0, now - ms);
  return `${duration(d)} ago`;
}

/** CSS class of a job or execution state for the coloured badges and graph boxes. */
export function stateClass(state) {
  switch (String(state || '').toUpperCase()) {
    case 'RUNNING':
      return 'st-running';
    case 'FINISHED':
      return 'st-finished';
    case 'FAILED':
    case 'FAILING':
      return 'st-failed';
    case 'CANCELED':
    case 'CANCELLING':
    case 'CANCELING':
    case 'SUSPENDED':
      return 'st-canceled';
    case 'RESTARTING':
      return 'st-restarting';
    case 'COMPLETED':
      return 'st-finished';
    case 'IN_PROGRESS':
      return 'st-pending';
    default:
      return 'st-pending'; // CREATED, SCHEDULED, DEPLOYING, INITIALIZING, RECONCILING...
  }
}

export function badge(state) {
  const s = state == null || state === '' ? 'UNKNOWN' : String(state);
  return `<span class="badge ${stateClass(s)}" data-state="${esc(s)}">${esc(s)}</span>`;
}

export const TERMINAL_JOB_STATES = new Set(['FINISHED', 'FAILED', 'CANCELED']);

/** Sets an element's innerHTML only when it changed (keeps selection and scroll positions). */
export function setHtml(el, html) {
  if (el && el.__html !== html) {
    el.innerHTML = html;
    el.__html = html;
  }
}

/** A number from a REST value that may be a JSON number or a decimal string. */
export function num(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : NaN;
  }
  return NaN;
}
