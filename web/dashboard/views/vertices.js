// Per-vertex live figures of a job: records/s (from the deltas of the vertices' record counters
// between refreshes), backpressure and watermarks (their own endpoints, which may be missing on
// a JobManager: then "n/a"), and the vertex and subtask tables under the graph.

import * as api from '../api.js';
import { badge, bytes, count, duration, esc, integer, NA, num, percent, time, timeMs } from '../format.js';

// Long.MIN_VALUE (Flink's "no watermark yet"), as a double.
const NO_WATERMARK = -9.2e18;

/** Keeps the previous record counters per vertex and turns them into rates. */
export class RateTracker {
  constructor() {
    this.prev = new Map(); // vid -> {t, read, write}
    this.rates = new Map(); // vid -> {in, out}
  }

  update(job) {
    const t = Number(job.now) > 0 ? Number(job.now) : Date.now();
    for (const v of job.vertices || []) {
      const m = v.metrics || {};
      const read = Number(m['read-records']);
      const write = Number(m['write-records']);
      const p = this.prev.get(v.id);
      if (p && t > p.t) {
        const dt = (t - p.t) / 1000;
        this.rates.set(v.id, {
          in: Number.isFinite(read) && read >= p.read ? (read - p.read) / dt : NaN,
          out: Number.isFinite(write) && write >= p.write ? (write - p.write) / dt : NaN,
        });
      }
      if (!p || t > p.t) this.prev.set(v.id, { t, read, write });
    }
  }

  get(vid) {
    return this.rates.get(vid) || null;
  }
}

/** {level: 'ok'|'low'|'high'|null, ratio, text, cls}; text "n/a" when the endpoint is missing. */
export function backpressureInfo(result) {
  if (!result) return { text: '-', cls: '' };
  if (!result.ok || !result.data || typeof result.data !== 'object') {
    return { text: NA, cls: 'muted', title: result.error || '' };
  }
  const d = result.data;
  const level = String(d['backpressure-level'] ?? d.backpressureLevel ?? '').toLowerCase();
  if (String(d.status).toLowerCase() === 'deprecated' && !level) {
    return { text: 'sampling…', cls: 'muted' };
  }
  const ratios = (Array.isArray(d.subtasks) ? d.subtasks : [])
    .map((s) => num(s.ratio ?? s.backPressuredRatio ?? s.backpressureRatio))
    .filter((r) => Number.isFinite(r));
  const ratio = ratios.length ? Math.max(...ratios) : NaN;
  if (!level) return { text: NA, cls: 'muted' };
  const text = Number.isFinite(ratio) ? `${level.toUpperCase()} (${percent(ratio)})` : level.toUpperCase();
  return { level, ratio, text, cls: `bp-${level}` };
}

/** The lowest current input watermark over the subtasks: {value, text}. */
export function watermarkInfo(result) {
  if (!result) return { text: '-' };
  if (!result.ok || !Array.isArray(result.data)) return { text: NA, cls: 'muted', title: result.error || '' };
  let entries = result.data.filter((e) => String(e.id).endsWith('currentInputWatermark'));
  if (!entries.length) entries = result.data;
  const values = entries.map((e) => num(e.value)).filter((v) => Number.isFinite(v));
  if (!values.length) return { text: NA, cls: 'muted' };
  const min = Math.min(...values);
  if (min <= NO_WATERMARK) return { value: min, text: 'none', cls: 'muted' };
  return { value: min, text: timeMs(min) };
}

/** Fetches backpressure and watermarks of every vertex of a running job, in parallel. */
export async function fetchVertexExtras(jid, job) {
  const extras = new Map();
  const vertices = job.vertices || [];
  await Promise.all(vertices.map(async (v) => {
    const [bp, wm] = await Promise.all([api.backpressure(jid, v.id), api.watermarks(jid, v.id)]);
    extras.set(v.id, { bp: backpressureInfo(bp), wm: watermarkInfo(wm) });
  }));
  return extras;
}

function rateText(r) {
  return Number.isFinite(r) ? `${count(r)}/s` : '…';
}

/** The text lines inside a vertex's graph box. */
export function graphLines(v, rate, extra, running) {
  const lines = [];
  if (rate) {
    lines.push({ key: 'rate', text: `records/s  in ${rateText(rate.in)} · out ${rateText(rate.out)}` });
  } else {
    const m = v.metrics || {};
    lines.push({ key: 'rate', text: running ? 'records/s  measuring…' :
      `records  in ${count(Number(m['read-records']))} · out ${count(Number(m['write-records']))}` });
  }
  const bp = extra ? extra.bp : { text: running ? '…' : '-' };
  lines.push({ key: 'backpressure', text: `backpressure  ${bp.text}`, cls: bp.cls || '' });
  const wm = extra ? extra.wm : { text: running ? '…' : '-' };
  lines.push({ key: 'watermark', text: `watermark  ${wm.text}`, cls: wm.cls || '' });
  return lines;
}

export function vertexTable(job, rates, extras, selected) {
  const rows = (job.vertices || []).map((v) => {
    const m = v.metrics || {};
    const r = rates.get(v.id);
    const x = extras.get(v.id) || {};
    return `<tr class="vertex-row${v.id === selected ? ' selected' : ''}" data-vid="${esc(v.id)}">` +
      `<td class="vertex-name">${esc(v.name)}</td>` +
      `<td>${badge(v.status)}</td>` +
      `<td class="num">${esc(v.parallelism)}</td>` +
      `<td class="num">${esc(integer(Number(m['read-records'])))}</td>` +
      `<td class="num">${esc(integer(Number(m['write-records'])))}</td>` +
      `<td class="num">${esc(r ? rateText(r.in) : '-')}</td>` +
      `<td class="num">${esc(r ? rateText(r.out) : '-')}</td>` +
      `<td class="${esc(x.bp?.cls || '')}" title="${esc(x.bp?.title || '')}">${esc(x.bp?.text ?? '-')}</td>` +
      `<td class="${esc(x.wm?.cls || '')}" title="${esc(x.wm?.title || '')}">${esc(x.wm?.text ?? '-')}</td>` +
      `<td>${esc(duration(v.duration))}</td></tr>`;
  }).join('');
  return '<table class="table" id="vertex-table"><thead><tr><th>Vertex</th><th>Status</th>' +
    '<th class="num">Parallelism</th><th class="num">Records in</th><th class="num">Records out</th>' +
    '<th class="num">In/s</th><th class="num">Out/s</th><th>Backpressure</th><th>Watermark (min)</th><th>Duration</th>' +
    `</tr></thead><tbody>${rows}</tbody></table>`;
}

export function subtaskTable(v) {
  if (!v) return '';
  const rows = (v.subtasks || []).map((s) => {
    const m = s.metrics || {};
    return `<tr data-subtask="${esc(s.subtask)}"><td class="num">${esc(s.subtask)}</td>` +
      `<td>${badge(s.status)}</td><td class="num">${esc(s.attempt)}</td>` +
      `<td>${esc(s.endpoint || s.host || NA)}</td>` +
      `<td><code>${esc(s['taskmanager-id'] || NA)}</code></td>` +
      `<td class="num">${esc(integer(Number(m['read-records'])))}</td>` +
      `<td class="num">${esc(integer(Number(m['write-records'])))}</td>` +
      `<td class="num">${esc(bytes(Number(m['read-bytes'])))}</td>` +
      `<td class="num">${esc(bytes(Number(m['write-bytes'])))}</td>` +
      `<td>${esc(time(s['start-time']))}</td><td>${esc(duration(s.duration))}</td>` +
      `<td class="failure">${esc(s.failure || '')}</td></tr>`;
  }).join('');
  return `<h3>Subtasks of <span class="vertex-name">${esc(v.name)}</span></h3>` +
    '<table class="table" id="subtask-table"><thead><tr><th class="num">#</th><th>Status</th>' +
    '<th class="num">Attempt</th><th>Endpoint</th><th>TaskManager</th><th class="num">Records in</th>' +
    '<th class="num">Records out</th><th class="num">Bytes in</th><th class="num">Bytes out</th><th>Start time</th><th>Duration</th><th>Failure</th></tr>' +
    `</thead><tbody>${rows}</tbody></table>`;
}
