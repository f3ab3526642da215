// A job's checkpoint statistics (Flink's CheckpointingStatistics: counts, summary, latest,
// history) rendered as HTML.

import { badge, bytes, duration, esc, integer, NA, time } from '../format.js';

function stat(label, value, key, cls = '') {
  return `<div class="stat ${cls}" data-key="${esc(key)}"><div class="stat-value">${esc(value)}</div>` +
    `<div class="stat-label">${esc(label)}</div></div>`;
}

function sizes(c) {
  const full = Number(c.state_size);
  const incr = Number(c.checkpointed_size);
  return { full: bytes(full), incr: Number.isFinite(incr) ? bytes(incr) : bytes(full) };
}

function latestCompleted(c) {
  if (!c) return '<p class="muted" id="latest-completed">No checkpoint has completed yet.</p>';
  const s = sizes(c);
  return `<dl class="kv" id="latest-completed" data-checkpoint-id="${esc(c.id)}">` +
    `<dt>ID</dt><dd>${esc(c.id)}</dd>` +
    `<dt>Completed</dt><dd>${esc(time(c.latest_ack_timestamp || c.trigger_timestamp))}</dd>` +
    `<dt>End-to-end duration</dt><dd>${esc(duration(c.end_to_end_duration))}</dd>` +
    `<dt>Checkpointed data size</dt><dd>${esc(s.incr)}</dd>` +
    `<dt>Full checkpoint data size</dt><dd>${esc(s.full)}</dd>` +
    `<dt>Path</dt><dd><code>${esc(c.external_path || NA)}</code></dd></dl>`;
}

function latestOther(latest) {
  const parts = [];
  const f = latest.failed;
  if (f) {
    parts.push(`<p class="error-text" id="latest-failed">Latest failed: #${esc(f.id)} at ` +
      `${esc(time(f.failure_timestamp || f.trigger_timestamp))}: ${esc(f.failure_message || 'no message')}</p>`);
  }
  const r = latest.restored;
  if (r) {
    parts.push(`<p id="latest-restored">Restored from #${esc(r.id)} at ${esc(time(r.restore_timestamp))}` +
      `${r.is_savepoint ? ' (a savepoint)' : ''}: <code>${esc(r.external_path || NA)}</code></p>`);
  }
  const sp = latest.savepoint;
  if (sp) {
    parts.push(`<p id="latest-savepoint">Latest savepoint: #${esc(sp.id)} at ` +
      `${esc(time(sp.latest_ack_timestamp || sp.trigger_timestamp))}: <code>${esc(sp.external_path || NA)}</code></p>`);
  }
  return parts.join('');
}

function summaryRow(label, s, fmt) {
  if (!s || typeof s !== 'object') return '';
  const cell = (k) => `<td class="num">${Number.isFinite(Number(s[k])) ? esc(fmt(Number(s[k]))) : '-'}</td>`;
  return `<tr><th scope="row">${esc(label)}</th>${cell('min')}${cell('avg')}${cell('p50')}` +
    `${cell('p90')}${cell('p99')}${cell('max')}</tr>`;
}

function summaryTable(summary) {
  if (!summary || !Object.keys(summary).length) return '';
  const rows = summaryRow('End-to-end duration', summary.end_to_end_duration, duration) +
    summaryRow('Checkpointed data size', summary.checkpointed_size, bytes) +
    summaryRow('Full checkpoint data size', summary.state_size, bytes);
  if (!rows) return '';
  return '<h3>Summary</h3><table class="table compact" id="checkpoint-summary"><thead><tr><th></th>' +
    '<th class="num">min</th><th class="num">avg</th><th class="num">p50</th><th class="num">p90</th>' +
    `<th class="num">p99</th><th class="num">max</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function historyRow(c) {
  const s = sizes(c);
  const acked = `${integer(Number(c.num_acknowledged_subtasks))}/${integer(Number(c.num_subtasks))}`;
  const phases = ['alignment_duration', 'sync_duration', 'async_duration']
    .map((k) => (Number.isFinite(Number(c[k])) ? duration(Number(c[k])) : '-')).join(' / ');
  const detail = c.status === 'FAILED'
    ? `<span class="error-text">${esc(c.failure_message || 'failed')}</span>`
    : `<code>${esc(c.external_path || '')}</code>`;
  return `<tr class="cp-row" data-checkpoint-id="${esc(c.id)}" data-status="${esc(c.status)}">` +
    `<td class="num cp-id">${esc(c.id)}</td><td>${badge(c.status)}` +
    `${c.is_savepoint ? ' <span class="tag">savepoint</span>' : ''}</td>` +
    `<td class="num">${esc(acked)}</td>` +
    `<td>${esc(time(c.trigger_timestamp))}</td>` +
    `<td>${esc(time(c.latest_ack_timestamp))}</td>` +
    `<td class="num">${esc(duration(c.end_to_end_duration))}</td>` +
    `<td class="num">${esc(s.incr)}</td><td class="num">${esc(s.full)}</td>` +
    `<td class="num">${esc(phases)}</td><td class="detail">${detail}</td></tr>`;
}

export function renderCheckpoints(data) {
  const counts = data.counts || {};
  const latest = data.latest || {};
  const history = Array.isArray(data.history) ? data.history : [];
  const total = Number(counts.total) || 0;
  let html = '<section class="stats" id="checkpoint-counts">' +
    stat('Triggered', integer(total), 'total') +
    stat('In progress', integer(Number(counts.in_progress) || 0), 'in_progress', 'st-pending-text') +
    stat('Completed', integer(Number(counts.completed) || 0), 'completed', 'st-finished-text') +
    stat('Failed', integer(Number(counts.failed) || 0), 'failed', 'st-failed-text') +
    stat('Restored', integer(Number(counts.restored) || 0), 'restored') + '</section>';
  if (!total && !history.length) {
    return html + '<p class="muted empty" id="no-checkpoints">No checkpoints yet. Checkpointing ' +
      'may be off for this job (`checkpointing: interval` in its spec).</p>';
  }
  html += `<div class="two-col"><div><h3>Latest completed checkpoint</h3>${latestCompleted(latest.completed)}</div>` +
    `<div>${latestOther(latest)}${summaryTable(data.summary)}</div></div>`;
  html += '<h3>History</h3>';
  if (!history.length) return html + '<p class="muted">No history.</p>';
  return html + '<table class="table" id="checkpoint-history"><thead><tr><th class="num">ID</th>' +
    '<th>Status</th><th class="num">Acknowledged</th><th>Triggered</th><th>Latest ack</th>' +
    '<th class="num">End to end</th><th class="num">Checkpointed size</th><th class="num">Full size</th>' +
    '<th class="num">Alignment / sync / async</th><th>Path or failure</th></tr></thead><tbody>' +
    history.map(historyRow).join('') + '</tbody></table>';
}
