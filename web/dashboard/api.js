// REST client of the JobManager (Flink's REST API v1 shapes). The API lives at the root of the
// origin that serves this page, so every path here is absolute ('/jobs/overview').
//
// Every call resolves (never rejects) to a Result:
//   { ok: true,  status, data }                 2xx (data: parsed JSON, or null for no body)
//   { ok: false, status, data, error }          HTTP error (error: the "errors" of Flink's
//                                               ErrorResponseBody joined, or the status text)
//   { ok: false, status: 0, error }             the JobManager could not be reached
// so that views can show "n/a" for an endpoint this JobManager lacks (404/405) and go on.

const TIMEOUT_MS = 10000;

// Reachability listeners: called with (true|false, error text) after every request, so the page
// can say that the JobManager is gone (and that it is back) wherever the request came from.
const listeners = new Set();
export function onReachability(fn) {
  listeners.add(fn);
}
function report(reachable, error) {
  for (const fn of listeners) {
    try {
      fn(reachable, error);
    } catch (e) {
      console.error(e);
    }
  }
}

function errorText(status, statusText, data) {
  if (data && Array.isArray(data.errors) && data.errors.length > 0) {
    return data.errors.map(String).join('; ');
  }
  if (typeof data === 'string' && data.trim() !== '') return `HTTP ${status}: ${data.trim()}`;
  return `HTTP ${status}${statusText ? ' ' + statusText : ''}`;
}

export async function request(method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const init = { method, headers: { Accept: 'application/json' }, signal: controller.signal,
                 cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    clearTimeout(timer);
    const why = e && e.name === 'AbortError' ? `no answer within ${TIMEOUT_MS / 1000} s`
                                              : 'the JobManager cannot be reached';
    const error = `${method} ${path}: ${why}`;
    report(false, error);
    return { ok: false, status: 0, data: null, error };
  }
  let text = '';
  try {
    text = await response.text();
  } catch (e) {
    text = '';
  } finally {
    clearTimeout(timer);
  }
  report(true, null);
  let data = null;
  if (text !== '') {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = text;
    }
  }
  if (response.ok) return { ok: true, status: response.status, data };
  return { ok: false, status: response.status, data,
           error: errorText(response.status, response.statusText, data) };
}

export const get = (path) => request('GET', path);

/** True when the endpoint itself is missing on this JobManager (not an error of the request). */
export function unsupported(result) {
  return !result.ok && (result.status === 404 || result.status === 405 || result.status === 501);
}

const enc = encodeURIComponent;

// ---- endpoints ----

export const config = () => get('/config');
export const overview = () => get('/overview');
export const jobsOverview = () => get('/jobs/overview');
export const job = (jid) => get(`/jobs/${enc(jid)}`);
export const checkpoints = (jid) => get(`/jobs/${enc(jid)}/checkpoints`);
export const exceptions = (jid) => get(`/jobs/${enc(jid)}/exceptions`);
export const jobMetrics = (jid, names) =>
  get(`/jobs/${enc(jid)}/metrics` + (names ? `?get=${names.map(enc).join(',')}` : ''));
export const backpressure = (jid, vid) =>
  get(`/jobs/${enc(jid)}/vertices/${enc(vid)}/backpressure`);
export const watermarks = (jid, vid) => get(`/jobs/${enc(jid)}/vertices/${enc(vid)}/watermarks`);
export const taskmanagers = () => get('/taskmanagers');

// ---- controls (Flink 1.20) ----

/** PATCH /jobs/:jid?mode=cancel, 202 when accepted. */
export const cancelJob = (jid) => request('PATCH', `/jobs/${enc(jid)}?mode=cancel`);

/** POST /jobs/:jid/savepoints; 202 {"request-id"}. An empty directory: the cluster default. */
export function triggerSavepoint(jid, targetDirectory) {
  const body = { 'cancel-job': false };
  if (targetDirectory) body['target-directory'] = targetDirectory;
  return request('POST', `/jobs/${enc(jid)}/savepoints`, body);
}

/** GET /jobs/:jid/savepoints/:requestId: {status: {id}, operation: {location | failure-cause}}. */
export const savepointStatus = (jid, requestId) =>
  get(`/jobs/${enc(jid)}/savepoints/${enc(requestId)}`);

/** PUT /jobs/:jid/resource-requirements with Flink's JobResourceRequirementsBody. */
export function setResourceRequirements(jid, parallelismByVertex) {
  const body = {};
  for (const [vid, n] of Object.entries(parallelismByVertex)) {
    body[vid] = { parallelism: { lowerBound: 1, upperBound: n } };
  }
  return request('PUT', `/jobs/${enc(jid)}/resource-requirements`, body);
}

export const resourceRequirements = (jid) => get(`/jobs/${enc(jid)}/resource-requirements`);
