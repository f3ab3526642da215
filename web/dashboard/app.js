// The Sluice dashboard: a single-page application with hash routes. Each route is a view
// object { title, mount(root), refresh() -> Promise, unmount?() }; the app mounts the view of
// the current route and calls its refresh() every `refresh-interval` ms (GET /config).
//
// Routes:
//   #/overview                     cluster overview and the jobs
//   #/jobs                         all jobs
//   #/jobs/<jid>                   a job: graph and vertices
//   #/jobs/<jid>/checkpoints       a job's checkpoint statistics and history
//   #/jobs/<jid>/exceptions        a job's exception history
//   #/taskmanagers                 TaskManagers with slots and memory

import * as api from './api.js';
import { time } from './format.js';
import { overviewView, jobsView } from './views/overview.js';
import { jobView } from './views/job.js';
import { taskmanagersView } from './views/taskmanagers.js';
import { toast } from './ui.js';

const DEFAULT_INTERVAL_MS = 3000;
const MIN_INTERVAL_MS = 500;

const state = {
  interval: DEFAULT_INTERVAL_MS,
  paused: false,
  view: null,
  generation: 0, // bumped on every route change; stale refresh loops stop
  timer: null,
  running: false,
  again: false,
};

const routes = [
  { re: /^\/?(?:overview)?$/, nav: 'overview', make: () => overviewView(ctx) },
  { re: /^\/jobs\/?$/, nav: 'jobs', make: () => jobsView(ctx) },
  { re: /^\/jobs\/([^/]+)(?:\/(graph|checkpoints|exceptions))?\/?$/, nav: 'jobs',
    make: (m) => jobView(ctx, decodeURIComponent(m[1]), m[2] || 'graph') },
  { re: /^\/taskmanagers\/?$/, nav: 'taskmanagers', make: () => taskmanagersView(ctx) },
];

/** What views get: navigation, an immediate refresh, notifications. */
const ctx = {
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  refreshNow() {
    scheduleRefresh(0);
  },
  toast,
  get interval() {
    return state.interval;
  },
};

function notFoundView(path) {
  return {
    title: 'Not found',
    mount(root) {
      root.innerHTML = `<section class="card"><h1>Nothing here</h1><p>There is no page ` +
        `<code></code>. Go to the <a href="#/overview">overview</a>.</p></section>`;
      root.querySelector('code').textContent = '#' + path;
    },
    async refresh() {},
  };
}

function route() {
  const path = decodeURI(location.hash.replace(/^#/, ''));
  let view = null;
  let nav = null;
  for (const r of routes) {
    const m = path.match(r.re);
    if (m) {
      view = r.make(m);
      nav = r.nav;
      break;
    }
  }
  if (!view) view = notFoundView(path);
  if (state.view && state.view.unmount) state.view.unmount();
  state.generation += 1;
  state.view = view;
  document.querySelectorAll('.mainnav a').forEach((a) => {
    a.classList.toggle('active', a.dataset.nav === nav);
  });
  const main = document.getElementById('view');
  const root = document.createElement('div');
  root.className = 'view-root';
  main.replaceChildren(root);
  document.title = `${view.title || 'Sluice'} · Sluice Dashboard`;
  view.mount(root);
  scheduleRefresh(0);
}

function scheduleRefresh(delay) {
  clearTimeout(state.timer);
  state.timer = setTimeout(tick, delay);
}

async function tick() {
  if (state.running) {
    state.again = true; // a refresh is under way: run another as soon as it ends
    return;
  }
  state.running = true;
  const generation = state.generation;
  const view = state.view;
  try {
    await view.refresh();
    if (generation === state.generation) {
      document.getElementById('refresh-text').textContent = state.paused
        ? `paused · updated ${time(Date.now()).slice(11)}`
        : `every ${state.interval / 1000} s · updated ${time(Date.now()).slice(11)}`;
      document.body.dataset.refreshedAt = String(Date.now());
    }
  } catch (e) {
    console.error(e);
    showBanner(`The page failed to show this data: ${e && e.message ? e.message : e}`);
  } finally {
    state.running = false;
  }
  if (state.again) {
    state.again = false;
    scheduleRefresh(0);
  } else if (!state.paused) {
    scheduleRefresh(state.interval);
  }
}

function showBanner(text) {
  const banner = document.getElementById('banner');
  if (text) {
    banner.textContent = text;
    banner.classList.remove('hidden');
  } else {
    banner.classList.add('hidden');
    banner.textContent = '';
  }
}

api.onReachability((reachable) => {
  const dot = document.getElementById('refresh-dot');
  dot.classList.toggle('down', !reachable);
  if (reachable) {
    if (document.getElementById('banner').dataset.kind === 'unreachable') {
      document.getElementById('banner').dataset.kind = '';
      showBanner(null);
    }
  } else {
    showBanner(`Cannot reach the JobManager at ${location.host}; retrying every ` +
               `${state.interval / 1000} s.`);
    document.getElementById('banner').dataset.kind = 'unreachable';
  }
});

async function loadConfig() {
  const r = await api.config();
  if (r.ok && r.data) {
    const ms = Number(r.data['refresh-interval']);
    if (Number.isFinite(ms) && ms > 0) state.interval = Math.max(MIN_INTERVAL_MS, ms);
    const version = r.data['flink-version'];
    if (version) document.getElementById('version').textContent = `Sluice ${version}`;
  }
}

function start() {
  document.getElementById('refresh-toggle').addEventListener('click', (ev) => {
    state.paused = !state.paused;
    ev.target.textContent = state.paused ? 'resume' : 'pause';
    document.getElementById('refresh-dot').classList.toggle('paused', state.paused);
    scheduleRefresh(0);
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (ev) => {
    console.error(ev.reason);
  });
  loadConfig().finally(() => {
    if (!location.hash || location.hash === '#' || location.hash === '#/') {
      history.replaceState(null, '', '#/overview');
    }
    route();
  });
}

start();
