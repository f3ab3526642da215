#!/usr/bin/env node
// Drives the Sluice web dashboard in Debian's headless Chromium with playwright-core and checks
// it against the JobManager's REST API (run by tests/e2e/dashboard_test.py).
//
//   node dashboard_check.mjs --url http://127.0.0.1:<rest port>/ --job <job id> --out <dir>
//       [--chromium /usr/bin/chromium] [--timeout-ms 30000]
//
// The dashboard and the REST API share one origin: REST calls go to <url>/jobs/... Steps:
//   1. GET <url> serves the dashboard's HTML.
//   2. Overview: the job is in the running jobs with its REST name and state.   overview.png
//   3. Job page: every vertex REST reports has a box in the graph with its exact name and
//      status, and a records/s figure appears.                                  job-graph.png
//   4. Checkpoints tab: a checkpoint REST reports COMPLETED is in the history.   checkpoints.png
//   5. TaskManagers: every TaskManager REST lists, with its slots.               taskmanagers.png
//   6. Cancel (confirming the dialog): REST reports CANCELED, then the page shows CANCELED.
//                                                                               after-cancel.png
// Exits 0 when all passed; otherwise 1 with the reason (and failure.png). Uncaught page errors
// fail the run. Never sleeps blindly: every wait is a condition with a deadline.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

function parseArgs(argv) {
  const args = { chromium: '/usr/bin/chromium', timeoutMs: 30000 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`missing value for ${key}`);
    if (key === '--url') args.url = value.endsWith('/') ? value : `${value}/`;
    else if (key === '--job') args.job = value;
    else if (key === '--out') args.out = value;
    else if (key === '--chromium') args.chromium = value;
    else if (key === '--timeout-ms') args.timeoutMs = Number(value);
    else throw new Error(`unknown argument ${key}`);
  }
  for (const k of ['url', 'job', 'out']) if (!args[k]) throw new Error(`--${k} is required`);
  return args;
}

const args = parseArgs(process.argv.slice(2));
const T = args.timeoutMs;
const screenshots = [];
const pageErrors = [];
const consoleErrors = [];

function log(message) {
  console.log(`[dashboard_check] ${message}`);
}

class CheckFailure extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailure(message);
}

/** GET <url><path> as JSON (the REST API is on the dashboard's origin). */
async function rest(p) {
  const response = await fetch(new URL(p.replace(/^\//, ''), args.url), { cache: 'no-store' });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    body = text;
  }
  return { status: response.status, body };
}

async function restOk(p) {
  const r = await rest(p);
  check(r.status === 200, `GET ${p}: HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body;
}

/** Polls fn() until it returns a truthy value; fails with describe() at the deadline. */
async function pollUntil(fn, timeoutMs, describe, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() >= deadline) {
      const what = typeof describe === 'function' ? await describe() : describe;
      throw new CheckFailure(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function shot(page, name) {
  const file = path.join(args.out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
  log(`screenshot ${file}`);
}

/** Waits for a page condition (a function evaluated in the page) with a readable failure. */
async function waitInPage(page, fn, arg, what, timeoutMs = T) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 200 });
  } catch (e) {
    throw new CheckFailure(`the page did not show ${what} within ${timeoutMs / 1000} s`);
  }
}

async function checkServed() {
  let response;
  try {
    response = await fetch(args.url, { cache: 'no-store' });
  } catch (e) {
    throw new CheckFailure(`GET ${args.url} failed: ${e.message}`);
  }
  const text = await response.text();
  check(response.status === 200,
    `the JobManager does not serve the dashboard at ${args.url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  const type = response.headers.get('content-type') || '';
  check(type.includes('text/html'), `GET ${args.url}: content type '${type}', expected text/html`);
  check(text.includes('app.js'), `GET ${args.url}: not the dashboard's index.html: ${text.slice(0, 300)}`);
  log(`dashboard served at ${args.url} (${type})`);
}

async function checkOverview(page) {
  const jobs = await restOk('/jobs/overview');
  const job = (jobs.jobs || []).find((j) => j.jid === args.job);
  check(job, `REST /jobs/overview does not list job ${args.job}`);
  await page.goto(args.url, { waitUntil: 'domcontentloaded' });
  await waitInPage(page, ({ jid, name, state }) => {
    const row = document.querySelector(`#running-jobs-table tr.job-row[data-jid="${jid}"]`);
    return row && row.querySelector('.job-link')?.textContent === name &&
      row.querySelector('.badge')?.dataset.state === state;
  }, { jid: args.job, name: job.name, state: job.state },
  `job ${args.job} (${job.name}, ${job.state}) in the running jobs`);
  const overview = await restOk('/overview');
  await waitInPage(page, ({ tms, slots }) => {
    const v = (k) => document.querySelector(`#overview-stats [data-key="${k}"] .stat-value`)?.textContent;
    return v('taskmanagers') === String(tms) && v('slots-total') === String(slots);
  }, { tms: overview.taskmanagers, slots: overview['slots-total'] },
  `the overview's ${overview.taskmanagers} TaskManagers and ${overview['slots-total']} slots`);
  log(`overview lists job ${job.name} (${job.state})`);
  await shot(page, 'overview');
}

async function checkGraph(page) {
  await page.click(`#running-jobs-table tr.job-row[data-jid="${args.job}"] .job-link`);
  await page.waitForURL((u) => u.hash === `#/jobs/${args.job}`, { timeout: T });
  const job = await restOk(`/jobs/${args.job}`);
  const vertices = (job.vertices || []).map((v) => ({ id: v.id, name: v.name, status: v.status }));
  check(vertices.length > 0, `REST /jobs/${args.job} reports no vertices`);
  await waitInPage(page, (expected) => {
    const boxes = document.querySelectorAll('svg.job-graph g.vertex');
    if (boxes.length !== expected.length) return false;
    return expected.every((v) => {
      const g = document.querySelector(`svg.job-graph g.vertex[data-vid="${v.id}"]`);
      return g && g.querySelector('text.vname')?.textContent === v.name && g.dataset.status === v.status;
    });
  }, vertices, `the ${vertices.length} vertices of the job in the graph: ` +
    vertices.map((v) => `"${v.name}" (${v.status})`).join(', '));
  // The names are drawn (visible), not only in the DOM.
  for (const v of vertices) {
    const visible = await page.locator(`svg.job-graph g.vertex[data-vid="${v.id}"] text.vname`).isVisible();
    check(visible, `the graph box of "${v.name}" is not visible`);
  }
  // Edges of the plan, one per input.
  const edges = (job.plan?.nodes || []).reduce((a, n) => a + (n.inputs || []).length, 0);
  const drawn = await page.locator('svg.job-graph path.edge').count();
  check(drawn === edges, `the graph draws ${drawn} edges, the plan has ${edges}`);
  // Records/s appear after two refreshes (rates are deltas of the record counters).
  await waitInPage(page, () => [...document.querySelectorAll('svg.job-graph text.vinfo[data-key="rate"]')]
    .some((t) => /out [0-9.]+[kMG]?\/s/.test(t.textContent)), null, 'a records/s figure in the graph');
  log(`graph shows ${vertices.length} vertices and ${edges} edges: ${vertices.map((v) => v.name).join(' | ')}`);
  await shot(page, 'job-graph');
}

async function checkCheckpoints(page) {
  await page.click('nav.tabs a[data-tab="checkpoints"]');
  await page.waitForURL((u) => u.hash === `#/jobs/${args.job}/checkpoints`, { timeout: T });
  const completed = await pollUntil(async () => {
    const stats = await restOk(`/jobs/${args.job}/checkpoints`);
    const fromHistory = (stats.history || []).find((c) => c.status === 'COMPLETED');
    return stats.latest?.completed || fromHistory || null;
  }, T, `REST /jobs/${args.job}/checkpoints to report a completed checkpoint`);
  const id = String(completed.id);
  await waitInPage(page, (cid) => {
    const row = document.querySelector(`#checkpoint-history tr.cp-row[data-checkpoint-id="${cid}"]`);
    return row && row.dataset.status === 'COMPLETED' && row.querySelector('.cp-id')?.textContent === cid &&
      row.querySelector('.badge')?.dataset.state === 'COMPLETED';
  }, id, `completed checkpoint ${id} in the checkpoint history`);
  await waitInPage(page, () => Number(document.querySelector('#checkpoint-counts [data-key="completed"] .stat-value')
    ?.textContent.replace(/,/g, '')) > 0, null, 'a completed-checkpoint count above 0');
  log(`checkpoint history shows completed checkpoint ${id}`);
  await shot(page, 'checkpoints');
}

async function checkTaskManagers(page) {
  await page.click('.mainnav a[data-nav="taskmanagers"]');
  await page.waitForURL((u) => u.hash === '#/taskmanagers', { timeout: T });
  const tms = (await restOk('/taskmanagers')).taskmanagers || [];
  check(tms.length > 0, 'REST /taskmanagers lists no TaskManager');
  const expected = tms.map((t) => ({ id: t.id, slots: String(t.slotsNumber), path: t.path }));
  await waitInPage(page, (list) => document.querySelectorAll('#tm-table tr.tm-row').length === list.length &&
    list.every((t) => {
      const row = document.querySelector(`#tm-table tr.tm-row[data-tm-id="${CSS.escape(t.id)}"]`);
      return row && row.querySelector('.tm-slots')?.textContent === t.slots &&
        row.querySelector('.tm-path')?.textContent === t.path;
    }), expected, `the TaskManagers ${expected.map((t) => `${t.id} (${t.path}, ${t.slots} slots)`).join(', ')}`);
  log(`TaskManagers view lists ${expected.length}: ${expected.map((t) => `${t.id} ${t.slots} slots`).join(', ')}`);
  await shot(page, 'taskmanagers');
  return expected.length;
}

async function checkCancel(page) {
  await page.goto(`${args.url}#/jobs/${args.job}`, { waitUntil: 'domcontentloaded' });
  await waitInPage(page, () => document.querySelector('#btn-cancel') && !document.querySelector('#btn-cancel').disabled,
    null, 'an enabled Cancel button');
  await page.click('#btn-cancel');
  // The dashboard asks in its own modal dialog (native confirm() dialogs are accepted too).
  await page.locator('#dialog-btn-confirm-cancel').click({ timeout: T });
  let lastState = '?';
  try {
    await pollUntil(async () => {
      lastState = (await restOk(`/jobs/${args.job}`)).state;
      return lastState === 'CANCELED';
    }, 60000, () => `REST to report job ${args.job} CANCELED (last state ${lastState})`);
  } catch (e) {
    const status = await page.locator('#action-status').textContent().catch(() => '');
    throw new CheckFailure(`${e.message}; the page says: "${status}"`);
  }
  log('REST reports the job CANCELED');
  await waitInPage(page, () => document.querySelector('#job-state .badge')?.dataset.state === 'CANCELED' &&
    document.querySelector('#btn-cancel').disabled, null, 'the job CANCELED (and Cancel disabled)');
  log('the page shows CANCELED');
  await shot(page, 'after-cancel');
}

async function main() {
  fs.mkdirSync(args.out, { recursive: true });
  check(fs.existsSync(args.chromium), `no Chromium at ${args.chromium} (apt-get install chromium)`);
  await checkServed();
  // launch() starts Chromium with a new temporary profile; the context is fresh too.
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60000,
  }).catch((e) => {
    throw new CheckFailure(`cannot start ${args.chromium}: ${e.message}`);
  });
  let page = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(T);
    page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('dialog', (d) => d.accept().catch(() => {}));
    await checkOverview(page);
    await checkGraph(page);
    await checkCheckpoints(page);
    await checkTaskManagers(page);
    await checkCancel(page);
    check(pageErrors.length === 0, `uncaught errors in the page:\n${pageErrors.join('\n')}`);
  } catch (e) {
    if (page) {
      const file = path.join(args.out, 'failure.png');
      await page.screenshot({ path: file, fullPage: true }).then(() => {
        screenshots.push(file);
        log(`screenshot ${file}`);
      }).catch(() => {});
    }
    throw e;
  } finally {
    if (consoleErrors.length) log(`console errors (not failures):\n  ${consoleErrors.join('\n  ')}`);
    if (pageErrors.length) log(`page errors:\n  ${pageErrors.join('\n  ')}`);
    await browser.close().catch(() => {});
  }
}

main().then(() => {
  log(`PASSED; screenshots:\n  ${screenshots.join('\n  ')}`);
  process.exit(0);
}).catch((e) => {
  log(`FAILED: ${e instanceof CheckFailure ? e.message : e.stack || e}`);
  if (screenshots.length) log(`screenshots:\n  ${screenshots.join('\n  ')}`);
  process.exit(1);
});
