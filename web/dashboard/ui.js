// Toast notifications and modal dialogs (one native <dialog> element, reused).

import { esc } from './format.js';

/** Shows a message for a while (kind: 'info' | 'ok' | 'error'); errors stay until closed. */
export function toast(message, kind = 'info', { sticky = kind === 'error', ms = 6000 } = {}) {
  const box = document.getElementById('toasts');
  const el = document.createElement('div');
  el.className = `toast toast-${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  el.innerHTML = `<span class="toast-text"></span><button type="button" class="toast-close" ` +
    `aria-label="close">×</button>`;
  el.querySelector('.toast-text').textContent = message;
  el.querySelector('.toast-close').addEventListener('click', () => el.remove());
  box.appendChild(el);
  if (!sticky) setTimeout(() => el.remove(), ms);
  return el;
}

let dialogSeq = 0;

/**
 * Opens the modal dialog. `body` is HTML; `buttons` is [{label, value, kind}] where kind is
 * 'primary' | 'danger' | '' (the last button is the default on Enter when it is primary).
 * Resolves with the value of the button pressed, or null when dismissed (Escape, close).
 * `onOpen(dialogElement)` may wire inputs; `collect(dialogElement)` builds the value of a
 * confirming button (e.g. the form's fields) and may throw an Error to keep the dialog open.
 */
export function openDialog({ title, body, buttons, onOpen, collect }) {
  const dialog = document.getElementById('dialog');
  if (dialog.open) dialog.close();
  const seq = ++dialogSeq;
  dialog.innerHTML =
    `<form method="dialog" class="dialog-form" novalidate>` +
    `<h2 class="dialog-title">${esc(title)}</h2>` +
    `<div class="dialog-body">${body}</div>` +
    `<p class="dialog-error hidden" role="alert"></p>` +
    `<div class="dialog-buttons">` +
    buttons.map((b, i) => `<button type="${b.kind === 'primary' || b.kind === 'danger' ? 'submit' : 'button'}" ` +
      `class="btn ${b.kind ? 'btn-' + b.kind : ''}" data-index="${i}" ` +
      `id="dialog-btn-${esc(b.id || b.value || i)}">${esc(b.label)}</button>`).join('') +
    `</div></form>`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const errorEl = dialog.querySelector('.dialog-error');
    const press = (b) => {
      if (b.value === null || b.value === undefined) return finish(null);
      try {
        finish(collect && (b.kind === 'primary' || b.kind === 'danger') ? collect(dialog, b.value) : b.value);
      } catch (e) {
        errorEl.textContent = e.message;
        errorEl.classList.remove('hidden');
      }
    };
    dialog.querySelectorAll('.dialog-buttons button').forEach((el) => {
      el.addEventListener('click', (ev) => {
        ev.preventDefault();
        press(buttons[Number(el.dataset.index)]);
      });
    });
    dialog.querySelector('form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const primary = buttons.find((b) => b.kind === 'primary' || b.kind === 'danger');
      if (primary) press(primary);
    });
    dialog.addEventListener('close', () => {
      if (seq === dialogSeq) finish(null);
    }, { once: true });
    dialog.showModal();
    if (onOpen) onOpen(dialog);
  });
}

/** A yes/no question; resolves true when confirmed. */
export async function confirmDialog(title, message, confirmLabel, { danger = false, id = 'confirm' } = {}) {
  const answer = await openDialog({
    title,
    body: `<p>${esc(message)}</p>`,
    buttons: [
      { label: 'Close', value: null, id: 'dismiss' },
      { label: confirmLabel, value: true, kind: danger ? 'danger' : 'primary', id },
    ],
  });
  return answer === true;
}
