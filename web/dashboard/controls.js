// The job controls, through Flink 1.20's REST API:
//   cancel     PATCH /jobs/:jid?mode=cancel                      (202)
//   savepoint  POST /jobs/:jid/savepoints {"target-directory", "cancel-job": false}
//              -> 202 {"request-id"}; GET /jobs/:jid/savepoints/:id until status.id COMPLETED,
//              then operation.location or operation.failure-cause
//   rescale    PUT /jobs/:jid/resource-requirements
//              {"<vertex id>": {"parallelism": {"lowerBound": 1, "upperBound": N}}, ...}
// Errors ({"errors": [...]}) are shown to the user as they come.

import * as api from './api.js';
import { esc } from './format.js';
import { confirmDialog, openDialog, toast } from './ui.js';

const SAVEPOINT_POLL_MS = 1000;
const SAVEPOINT_DEADLINE_MS = 30 * 60 * 1000;

function why(result, what) {
  if (api.unsupported(result)) {
    return `${what}: this JobManager does not offer it (${result.error})`;
  }
  return `${what}: ${result.error}`;
}

export async function cancelJob(ctx, job, setStatus) {
  const ok = await confirmDialog('Cancel job',
    `Cancel "${job.name}" (${job.jid})? Its subtasks are stopped; its latest checkpoint is kept.`,
    'Cancel job', { danger: true, id: 'confirm-cancel' });
  if (!ok) return;
  setStatus('Cancelling…');
  const r = await api.cancelJob(job.jid);
  if (r.ok) {
    setStatus('Cancellation requested.');
    toast(`Cancellation of ${job.name} requested.`, 'ok');
  } else {
    const text = why(r, 'Cancel failed');
    setStatus(text, true);
    toast(text, 'error');
  }
  ctx.refreshNow();
}

function failureText(cause) {
  if (!cause) return 'unknown cause';
  if (typeof cause === 'string') return cause;
  return cause['stack-trace'] || cause.message || cause.class || JSON.stringify(cause);
}

async function pollSavepoint(job, requestId, setStatus) {
  const deadline = Date.now() + SAVEPOINT_DEADLINE_MS;
  let failures = 0;
  while (Date.now() < deadline) {
    const r = await api.savepointStatus(job.jid, requestId);
    if (r.ok && r.data) {
      failures = 0;
      const status = r.data.status && r.data.status.id;
      if (status === 'COMPLETED') {
        const op = r.data.operation || {};
        if (op['failure-cause']) {
          const text = `Savepoint failed: ${failureText(op['failure-cause'])}`;
          setStatus(text, true);
          toast(text, 'error');
        } else {
          setStatus(`Savepoint completed: ${op.location || '(no location reported)'}`);
          toast(`Savepoint completed: ${op.location || '(no location reported)'}`, 'ok', { sticky: true });
        }
        return;
      }
      setStatus(`Savepoint in progress (request ${requestId})…`);
    } else {
      failures += 1;
      if (failures >= 5 || (r.status >= 400 && r.status < 500)) {
        const text = why(r, 'Savepoint status unknown');
        setStatus(text, true);
        toast(text, 'error');
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, SAVEPOINT_POLL_MS));
  }
  setStatus('Savepoint still not complete after 30 min; stopped watching it.', true);
}

export async function triggerSavepoint(ctx, job, setStatus) {
  const dir = await openDialog({
    title: 'Trigger a savepoint',
    body: `<p>A savepoint of <b>${esc(job.name)}</b>; the job keeps running.</p>` +
      '<label class="field">Target directory <input type="text" name="target-directory" ' +
      'id="savepoint-dir" placeholder="empty: the cluster\'s default savepoint directory" ' +
      'autocomplete="off" spellcheck="false"></label>',
    buttons: [
      { label: 'Close', value: null, id: 'dismiss' },
      { label: 'Trigger savepoint', value: 'go', kind: 'primary', id: 'savepoint' },
    ],
    onOpen: (d) => d.querySelector('#savepoint-dir').focus(),
    collect: (d) => d.querySelector('#savepoint-dir').value.trim(),
  });
  if (dir === null) return;
  setStatus('Triggering a savepoint…');
  const r = await api.triggerSavepoint(job.jid, dir);
  const requestId = r.ok && r.data ? r.data['request-id'] || r.data.requestId : null;
  if (!requestId) {
    const text = r.ok ? 'Savepoint failed: no request id in the answer' : why(r, 'Savepoint failed');
    setStatus(text, true);
    toast(text, 'error');
    return;
  }
  toast(`Savepoint triggered (request ${requestId}).`, 'info');
  await pollSavepoint(job, requestId, setStatus);
  ctx.refreshNow();
}

export async function rescaleJob(ctx, job, setStatus) {
  const vertices = job.vertices || [];
  const maxP = Math.max(1, ...vertices.map((v) => Number(v.parallelism) || 1));
  const rows = vertices.map((v, i) =>
    `<tr><td class="vertex-name">${esc(v.name)}</td><td class="num">${esc(v.parallelism)}</td>` +
    `<td><input type="number" min="1" step="1" class="rescale-input" data-vid="${esc(v.id)}" ` +
    `data-index="${i}" value="${esc(v.parallelism)}" ` +
    `max="${esc(v.maxParallelism || '')}" aria-label="new parallelism of ${esc(v.name)}"></td></tr>`).join('');
  const value = await openDialog({
    title: 'Rescale job',
    body: `<p>New parallelism of each vertex of <b>${esc(job.name)}</b> (the upper bound of its ` +
      'resource requirements; state is redistributed by key groups).</p>' +
      `<label class="field">All vertices <input type="number" min="1" step="1" id="rescale-all" ` +
      `value="${maxP}"></label>` +
      '<table class="table compact"><thead><tr><th>Vertex</th><th class="num">Now</th>' +
      `<th>New</th></tr></thead><tbody>${rows}</tbody></table>`,
    buttons: [
      { label: 'Close', value: null, id: 'dismiss' },
      { label: 'Rescale', value: 'go', kind: 'primary', id: 'rescale' },
    ],
    onOpen: (d) => {
      const all = d.querySelector('#rescale-all');
      all.addEventListener('input', () => {
        d.querySelectorAll('.rescale-input').forEach((el) => {
          el.value = all.value;
        });
      });
      all.focus();
    },
    collect: (d) => {
      const out = {};
      d.querySelectorAll('.rescale-input').forEach((el) => {
        const n = Number(el.value);
        if (!Number.isInteger(n) || n < 1) {
          throw new Error(`The parallelism of every vertex must be a whole number >= 1 (found "${el.value}").`);
        }
        out[el.dataset.vid] = n;
      });
      return out;
    },
  });
  if (value === null) return;
  setStatus('Requesting the new parallelism…');
  const r = await api.setResourceRequirements(job.jid, value);
  if (r.ok) {
    const text = 'Rescale requested: ' + vertices.map((v) => `${v.name} → ${value[v.id]}`).join(', ');
    setStatus(text);
    toast(text, 'ok');
  } else {
    const text = why(r, 'Rescale failed');
    setStatus(text, true);
    toast(text, 'error');
  }
  ctx.refreshNow();
}
