// A job's page: header with state and controls, and three tabs: the graph with its vertices
// (GET /jobs/:jid, plus backpressure and watermarks per vertex), checkpoints
// (GET /jobs/:jid/checkpoints) and exceptions (GET /jobs/:jid/exceptions).

import * as api from '../api.js';
import { badge, duration, esc, setHtml, time, TERMINAL_JOB_STATES } from '../format.js';
import { renderGraph } from '../graph.js';
import { cancelJob, rescaleJob, triggerSavepoint } from '../controls.js';
import { renderCheckpoints } from './checkpoints.js';
import { renderExceptions } from './exceptions.js';
import { fetchVertexExtras, graphLines, RateTracker, subtaskTable, vertexTable } from './vertices.js';

const TABS = [
  ['graph', 'Overview'],
  ['checkpoints', 'Checkpoints'],
  ['exceptions', 'Exceptions'],
];

/** Graph nodes from the plan (Flink's JobPlanInfo), with the vertices' names and statuses. */
function graphNodes(job, rates, extras, running) {
  const vertices = new Map((job.vertices || []).map((v) => [v.id, v]));
  const planNodes = job.plan && Array.isArray(job.plan.nodes) && job.plan.nodes.length
    ? job.plan.nodes
    : (job.vertices || []).map((v) => ({ id: v.id, description: v.name, parallelism: v.parallelism }));
  return planNodes.map((p) => {
    const v = vertices.get(p.id) || { id: p.id, name: p.description, parallelism: p.parallelism };
    return {
      id: p.id,
      name: v.name || p.description || p.id,
      status: v.status,
      parallelism: v.parallelism ?? p.parallelism,
      inputs: Array.isArray(p.inputs) ? p.inputs : [],
      lines: graphLines(v, running ? rates.get(p.id) : null, extras.get(p.id), running),
    };
  });
}

export function jobView(ctx, jid, tab) {
  const rates = new RateTracker();
  let extras = new Map();
  let selected = null;
  let job = null;
  let els = null;

  const setStatus = (text, isError = false) => {
    els.status.textContent = text;
    els.status.classList.toggle('error-text', isError);
  };

  function renderHeader() {
    const state = job.state;
    els.name.textContent = job.name || '(unnamed job)';
    setHtml(els.state, badge(state));
    setHtml(els.meta,
      `<span>Job ID <code id="job-id">${esc(job.jid)}</code></span>` +
      `<span>Started ${esc(time(job['start-time']))}</span>` +
      (Number(job['end-time']) > 0 ? `<span>Ended ${esc(time(job['end-time']))}</span>` : '') +
      `<span>Duration ${esc(duration(job.duration))}</span>` +
      `<span>${(job.vertices || []).length} vertices</span>`);
    const terminal = TERMINAL_JOB_STATES.has(state);
    const ending = terminal || state === 'CANCELLING' || state === 'FAILING';
    els.cancel.disabled = ending;
    els.savepoint.disabled = ending;
    els.rescale.disabled = ending;
    const cause = job['failure-cause'];
    const message = job['status-message'];
    setHtml(els.failure,
      (cause ? `<div class="failure-box" role="alert"><b>Failure cause</b><pre>${esc(
        typeof cause === 'string' ? cause : cause['stack-trace'] || JSON.stringify(cause))}</pre></div>` : '') +
      (message ? `<p class="status-message">${esc(message)}</p>` : ''));
    document.title = `${job.name || 'Job'} · Sluice Dashboard`;
  }

  function renderGraphTab() {
    const running = !TERMINAL_JOB_STATES.has(job.state);
    setHtml(els.graph, renderGraph(graphNodes(job, rates, extras, running), selected));
    setHtml(els.vertices, vertexTable(job, running ? rates.rates : new Map(), extras, selected));
    const v = (job.vertices || []).find((x) => x.id === selected);
    setHtml(els.subtasks, v ? subtaskTable(v)
      : '<p class="muted hint">Select a vertex in the graph or the table to see its subtasks.</p>');
  }

  function select(vid) {
    selected = selected === vid ? null : vid;
    if (job) renderGraphTab();
  }

  function mountTab(container) {
    if (tab === 'graph') {
      container.innerHTML = '<div class="graph-wrap" id="job-graph"><p class="muted">Loading…</p></div>' +
        '<h2>Vertices</h2><div class="table-wrap" id="vertices"></div><div class="table-wrap" id="subtasks"></div>';
      els.graph = container.querySelector('#job-graph');
      els.vertices = container.querySelector('#vertices');
      els.subtasks = container.querySelector('#subtasks');
      container.addEventListener('click', (ev) => {
        const target = ev.target.closest('g.vertex, tr.vertex-row');
        if (target) select(target.dataset.vid);
      });
      container.addEventListener('keydown', (ev) => {
        const target = ev.target.closest && ev.target.closest('g.vertex');
        if (target && (ev.key === 'Enter' || ev.key === ' ')) {
          ev.preventDefault();
          select(target.dataset.vid);
        }
      });
    } else if (tab === 'checkpoints') {
      container.innerHTML = '<h2>Checkpoints</h2><div id="checkpoints"><p class="muted">Loading…</p></div>';
      els.checkpoints = container.querySelector('#checkpoints');
    } else {
      container.innerHTML = '<h2>Exceptions</h2><div id="exceptions"><p class="muted">Loading…</p></div>';
      els.exceptions = container.querySelector('#exceptions');
    }
  }

  const withJob = (fn) => async () => {
    if (!job) return;
    try {
      await fn(ctx, job, setStatus);
    } catch (e) {
      setStatus(`Failed: ${e.message}`, true);
    }
  };

  return {
    title: 'Job',
    mount(root) {
      const base = `#/jobs/${encodeURIComponent(jid)}`;
      root.innerHTML = `
        <p class="crumbs"><a href="#/jobs">Jobs</a> › <span id="crumb-jid"></span></p>
        <div class="job-header">
          <div class="job-heading">
            <h1 id="job-name">Job</h1><span id="job-state"></span>
            <div class="job-meta" id="job-meta"></div>
          </div>
          <div class="controls">
            <button type="button" class="btn" id="btn-savepoint" disabled>Savepoint…</button>
            <button type="button" class="btn" id="btn-rescale" disabled>Rescale…</button>
            <button type="button" class="btn btn-danger" id="btn-cancel" disabled>Cancel job</button>
          </div>
        </div>
        <p class="action-status" id="action-status" aria-live="polite"></p>
        <div id="job-failure"></div>
        <nav class="tabs" aria-label="job">${TABS.map(([t, label]) =>
          `<a href="${base}${t === 'graph' ? '' : '/' + t}" data-tab="${t}" ` +
          `class="${t === tab ? 'active' : ''}">${label}</a>`).join('')}</nav>
        <section class="card tab-content" id="tab-content"></section>`;
      root.querySelector('#crumb-jid').textContent = jid;
      els = {
        name: root.querySelector('#job-name'),
        state: root.querySelector('#job-state'),
        meta: root.querySelector('#job-meta'),
        failure: root.querySelector('#job-failure'),
        status: root.querySelector('#action-status'),
        cancel: root.querySelector('#btn-cancel'),
        savepoint: root.querySelector('#btn-savepoint'),
        rescale: root.querySelector('#btn-rescale'),
      };
      els.cancel.addEventListener('click', withJob(cancelJob));
      els.savepoint.addEventListener('click', withJob(triggerSavepoint));
      els.rescale.addEventListener('click', withJob(rescaleJob));
      mountTab(root.querySelector('#tab-content'));
    },
    async refresh() {
      const [jr, tabResult] = await Promise.all([
        api.job(jid),
        tab === 'checkpoints' ? api.checkpoints(jid) : tab === 'exceptions' ? api.exceptions(jid) : null,
      ]);
      if (!jr.ok || !jr.data) {
        const notFound = jr.status === 404;
        els.name.textContent = notFound ? 'Job not found' : 'Job';
        setHtml(els.meta, `<span class="error-text">${esc(notFound
          ? `The JobManager knows no job ${jid}.` : `Cannot load the job: ${jr.error}`)}</span>`);
        if (notFound) [els.cancel, els.savepoint, els.rescale].forEach((b) => { b.disabled = true; });
        return;
      }
      job = jr.data;
      rates.update(job);
      renderHeader();
      if (tab === 'graph') {
        if (!TERMINAL_JOB_STATES.has(job.state)) extras = await fetchVertexExtras(jid, job);
        else extras = new Map();
        renderGraphTab();
      } else if (tab === 'checkpoints') {
        setHtml(els.checkpoints, tabResult.ok && tabResult.data ? renderCheckpoints(tabResult.data)
          : `<p class="${tabResult.status === 404 ? 'muted' : 'error-text'}">Checkpoint statistics ` +
            `not available: ${esc(tabResult.error)}</p>`);
      } else {
        setHtml(els.exceptions, tabResult.ok && tabResult.data ? renderExceptions(tabResult.data)
          : `<p class="muted">Exceptions not available: ${esc(tabResult.error)}</p>`);
      }
    },
  };
}
