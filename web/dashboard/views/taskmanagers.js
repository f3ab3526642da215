// TaskManagers (GET /taskmanagers): slots, hardware and memory, last heartbeat, log files.

import * as api from '../api.js';
import { bytes, duration, esc, integer, NA, setHtml } from '../format.js';

function memory(v) {
  const n = Number(v);
  // Sluice reports 0 for sizes it does not measure (e.g. no JVM free memory): not "0 B".
  return Number.isFinite(n) && n > 0 ? bytes(n) : NA;
}

/** Flink's timeSinceLastHeartbeat is the epoch ms of the last heartbeat despite its name. */
function heartbeat(v) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) return NA;
  const age = n > 1e12 ? Date.now() - n : n;
  return `${duration(Math.max(0, age))} ago`;
}

function slotsCell(total, free) {
  const t = Number(total);
  const f = Number(free);
  if (!Number.isFinite(t)) return NA;
  const used = Number.isFinite(f) ? t - f : NaN;
  const pct = t > 0 && Number.isFinite(used) ? Math.round((100 * used) / t) : 0;
  return `<div class="slots"><span class="slots-text">${Number.isFinite(used) ? used : '?'} / ${t} used</span>` +
    `<span class="meter"><span class="meter-fill" style="width:${pct}%"></span></span></div>`;
}

function row(tm) {
  const hw = tm.hardware || {};
  return `<tr class="tm-row" data-tm-id="${esc(tm.id)}">` +
    `<td><code class="tm-id">${esc(tm.id)}</code></td>` +
    `<td class="tm-path">${esc(tm.path || NA)}</td>` +
    `<td class="num tm-slots" data-slots="${esc(tm.slotsNumber)}">${esc(integer(Number(tm.slotsNumber)))}</td>` +
    `<td class="num tm-free" data-free="${esc(tm.freeSlots)}">${esc(integer(Number(tm.freeSlots)))}</td>` +
    `<td>${slotsCell(tm.slotsNumber, tm.freeSlots)}</td>` +
    `<td class="num">${esc(hw.cpuCores ?? NA)}</td>` +
    `<td class="num">${esc(memory(hw.physicalMemory))}</td>` +
    `<td class="num">${esc(memory(hw.freeMemory))}</td>` +
    `<td class="num">${esc(memory(hw.managedMemory))}</td>` +
    `<td>${esc(heartbeat(tm.timeSinceLastHeartbeat))}</td>` +
    // The log file (GET /taskmanagers/:id/log; 404 when it logs to the console only).
    `<td><a class="tm-log" href="taskmanagers/${encodeURIComponent(tm.id)}/log" target="_blank" rel="noopener">log</a></td></tr>`;
}

export function taskmanagersView() {
  let list;
  let summary;
  return {
    title: 'Task Managers',
    mount(root) {
      root.innerHTML = '<h1>Task Managers</h1><p class="muted" id="tm-summary"></p>' +
        '<p><a id="jm-log" href="jobmanager/log" target="_blank" rel="noopener">JobManager log</a></p>' +
        '<section class="card"><div id="tm-list"><p class="muted">Loading…</p></div></section>';
      list = root.querySelector('#tm-list');
      summary = root.querySelector('#tm-summary');
    },
    async refresh() {
      const r = await api.taskmanagers();
      if (!r.ok || !r.data || !Array.isArray(r.data.taskmanagers)) {
        setHtml(list, `<p class="error-text">Cannot load the TaskManagers: ${esc(r.error || 'no list')}</p>`);
        return;
      }
      const tms = [...r.data.taskmanagers].sort((a, b) => String(a.path).localeCompare(String(b.path)));
      const slots = tms.reduce((a, t) => a + (Number(t.slotsNumber) || 0), 0);
      const free = tms.reduce((a, t) => a + (Number(t.freeSlots) || 0), 0);
      summary.textContent = `${tms.length} TaskManager${tms.length === 1 ? '' : 's'}, ` +
        `${slots} slots, ${free} free.`;
      if (!tms.length) {
        setHtml(list, '<p class="muted empty">No TaskManager is registered.</p>');
        return;
      }
      // Heartbeat ages change every refresh; the table is small, so it is rebuilt.
      setHtml(list, '<table class="table" id="tm-table"><thead><tr><th>ID</th><th>Address</th>' +
        '<th class="num">Slots</th><th class="num">Free slots</th><th>Slot usage</th>' +
        '<th class="num">CPU cores</th><th class="num">Physical memory</th>' +
        '<th class="num">Free memory</th><th class="num">Managed memory</th>' +
        `<th>Last heartbeat</th><th>Log</th></tr></thead><tbody>${tms.map(row).join('')}</tbody></table>`);
    },
  };
}
