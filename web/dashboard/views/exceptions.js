// A job's exceptions (Flink's JobExceptionsInfoWithHistory): the history entries newest first,
// falling back to the legacy `all-exceptions` and `root-exception` fields.

import { esc, time } from '../format.js';

function entryHtml(e, i) {
  const title = [e.exceptionName, e.taskName, e.location].filter(Boolean).join(' · ');
  const firstLine = String(e.stacktrace || '').split('\n')[0];
  return `<details class="exception" ${i === 0 ? 'open' : ''} data-index="${i}">` +
    `<summary><span class="exc-time">${esc(time(e.timestamp))}</span> ` +
    `<span class="exc-title">${esc(title || 'exception')}</span>` +
    `<span class="exc-first">${esc(firstLine)}</span></summary>` +
    `<pre class="stacktrace">${esc(e.stacktrace || '')}</pre>` +
    (Array.isArray(e.concurrentExceptions) && e.concurrentExceptions.length
      ? `<p class="muted">${e.concurrentExceptions.length} concurrent exception(s):</p>` +
        e.concurrentExceptions.map((c) => `<pre class="stacktrace">${esc(
          [c.taskName, c.location].filter(Boolean).join(' · ') + '\n' + (c.stacktrace || ''))}</pre>`).join('')
      : '') +
    '</details>';
}

export function renderExceptions(data) {
  let entries = data && data.exceptionHistory && Array.isArray(data.exceptionHistory.entries)
    ? data.exceptionHistory.entries : [];
  if (!entries.length && Array.isArray(data && data['all-exceptions'])) {
    entries = data['all-exceptions'].map((e) => ({
      stacktrace: e.exception, taskName: e.task, location: e.location, timestamp: e.timestamp,
    }));
  }
  const root = data ? data['root-exception'] : null;
  if (!entries.length && root) {
    entries = [{ stacktrace: root, timestamp: data.timestamp, exceptionName: 'root exception' }];
  }
  if (!entries.length) {
    return '<p class="muted empty" id="no-exceptions">No exceptions: this job has not failed.</p>';
  }
  const truncated = data.exceptionHistory && data.exceptionHistory.truncated
    ? '<p class="muted">Older exceptions were dropped from the history.</p>' : '';
  const rootHtml = root
    ? `<h3>Root exception</h3><pre class="stacktrace root" id="root-exception">${esc(root)}</pre>` : '';
  return `${rootHtml}<h3>History (${entries.length}, newest first)</h3>` +
    `<div id="exception-history">${entries.map(entryHtml).join('')}</div>${truncated}`;
}
