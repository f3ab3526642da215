// Cluster overview (GET /overview, GET /jobs/overview) and the jobs list (GET /jobs/overview).

import * as api from '../api.js';
import { badge, duration, esc, integer, setHtml, time, TERMINAL_JOB_STATES } from '../format.js';

const TASK_STATES = [
  ['running', 'st-running'], ['finished', 'st-finished'], ['canceling', 'st-canceled'],
  ['canceled', 'st-canceled'], ['failed', 'st-failed'], ['created', 'st-pending'],
  ['scheduled', 'st-pending'], ['deploying', 'st-pending'], ['initializing', 'st-pending'],
  ['reconciling', 'st-pending'],
];

function tasksBar(tasks) {
  if (!tasks || typeof tasks !== 'object') return '<span class="muted">-</span>';
  const total = Number(tasks.total) ||
    TASK_STATES.reduce((a, [k]) => a + (Number(tasks[k]) || 0), 0);
  if (!total) return '<span class="muted">0</span>';
  const segs = TASK_STATES.filter(([k]) => Number(tasks[k]) > 0)
    .map(([k, cls]) => `<span class="seg ${cls}" style="flex:${Number(tasks[k])}" ` +
      `title="${esc(k)}: ${Number(tasks[k])}">${Number(tasks[k])}</span>`);
  return `<span class="tasks-bar" title="${total} subtasks">${segs.join('')}</span>`;
}

function jobRows(jobs) {
  return jobs.map((j) => {
    const jid = String(j.jid || '');
    return `<tr class="job-row" data-jid="${esc(jid)}" data-state="${esc(j.state)}">` +
      `<td><a class="job-link" href="#/jobs/${encodeURIComponent(jid)}">${esc(j.name || '(unnamed)')}</a></td>` +
      `<td><code class="jid">${esc(jid)}</code></td>` +
      `<td>${badge(j.state)}</td>` +
      `<td>${esc(time(j['start-time']))}</td>` +
      `<td>${esc(duration(j.duration))}</td>` +
      `<td>${esc(time(j['end-time']))}</td>` +
      `<td>${tasksBar(j.tasks)}</td></tr>`;
  }).join('');
}

export function jobsTable(jobs, emptyText, id) {
  if (!jobs.length) return `<p class="muted empty" id="${esc(id)}">${esc(emptyText)}</p>`;
  return `<table class="table jobs-table" id="${esc(id)}"><thead><tr><th>Name</th><th>Job ID</th>` +
    '<th>State</th><th>Start time</th><th>Duration</th><th>End time</th><th>Tasks</th></tr></thead>' +
    `<tbody>${jobRows(jobs)}</tbody></table>`;
}

function sortJobs(jobs) {
  return [...jobs].sort((a, b) => (Number(b['start-time']) || 0) - (Number(a['start-time']) || 0));
}

function stat(label, value, key, cls = '') {
  return `<div class="stat ${cls}" data-key="${esc(key)}"><div class="stat-value">${esc(value)}</div>` +
    `<div class="stat-label">${esc(label)}</div></div>`;
}

function wireRows(root, ctx) {
  root.addEventListener('click', (ev) => {
    if (ev.target.closest('a')) return;
    const row = ev.target.closest('tr.job-row');
    if (row) ctx.navigate(`#/jobs/${encodeURIComponent(row.dataset.jid)}`);
  });
}

function errorBox(r) {
  return `<p class="error-text">Cannot load: ${esc(r.error)}</p>`;
}

export function overviewView(ctx) {
  let els;
  return {
    title: 'Overview',
    mount(root) {
      root.innerHTML = `
        <h1>Cluster overview</h1>
        <section class="stats" id="overview-stats"><p class="muted">Loading…</p></section>
        <section class="card"><h2>Running jobs</h2><div id="running-jobs"></div></section>
        <section class="card"><h2>Completed jobs</h2><div id="completed-jobs"></div></section>`;
      els = {
        stats: root.querySelector('#overview-stats'),
        running: root.querySelector('#running-jobs'),
        completed: root.querySelector('#completed-jobs'),
      };
      wireRows(root, ctx);
    },
    async refresh() {
      const [ov, jobs] = await Promise.all([api.overview(), api.jobsOverview()]);
      if (ov.ok && ov.data) {
        const o = ov.data;
        const total = Number(o['slots-total']);
        const free = Number(o['slots-available']);
        setHtml(els.stats,
          stat('Task Managers', integer(o.taskmanagers), 'taskmanagers') +
          stat('Total slots', integer(total), 'slots-total') +
          stat('Available slots', integer(free), 'slots-available') +
          stat('Running jobs', integer(o['jobs-running']), 'jobs-running', 'st-running-text') +
          stat('Finished jobs', integer(o['jobs-finished']), 'jobs-finished', 'st-finished-text') +
          stat('Cancelled jobs', integer(o['jobs-cancelled']), 'jobs-cancelled', 'st-canceled-text') +
          stat('Failed jobs', integer(o['jobs-failed']), 'jobs-failed', 'st-failed-text') +
          stat('Version', o['flink-version'] || '-', 'version', 'stat-small'));
      } else {
        setHtml(els.stats, errorBox(ov));
      }
      if (jobs.ok && jobs.data && Array.isArray(jobs.data.jobs)) {
        const all = sortJobs(jobs.data.jobs);
        setHtml(els.running, jobsTable(all.filter((j) => !TERMINAL_JOB_STATES.has(j.state)),
          'No job is running.', 'running-jobs-table'));
        setHtml(els.completed, jobsTable(all.filter((j) => TERMINAL_JOB_STATES.has(j.state)),
          'No job has completed yet.', 'completed-jobs-table'));
      } else {
        setHtml(els.running, errorBox(jobs));
        setHtml(els.completed, '');
      }
    },
  };
}

export function jobsView(ctx) {
  let list;
  return {
    title: 'Jobs',
    mount(root) {
      root.innerHTML = '<h1>Jobs</h1><section class="card"><div id="jobs-list">' +
        '<p class="muted">Loading…</p></div></section>';
      list = root.querySelector('#jobs-list');
      wireRows(root, ctx);
    },
    async refresh() {
      const r = await api.jobsOverview();
      if (r.ok && r.data && Array.isArray(r.data.jobs)) {
        setHtml(list, jobsTable(sortJobs(r.data.jobs), 'No jobs have been submitted.', 'jobs-table'));
      } else {
        setHtml(list, errorBox(r));
      }
    },
  };
}
