/*
 * form.js: the pages' forms.
 *
 * Owns: reading a form into an object keyed by the inputs' names (which
 * are the API's own field names), the submit cycle (busy, clear, send,
 * show), errors as the GOV.UK Design System shows them (a summary at the
 * top of the form that links to each field, announced with role="alert"
 * and focused, and each field's own message above it), success notices,
 * and the words for the API's error codes.
 */
import { el } from './layout.js';

/* What a person is told about a field the API refused. */
const FIELD_TEXT = {
  identifier: 'Enter your username or email address',
  username: 'Enter a username of 3 to 64 letters, digits, dots, ' +
    'underscores or hyphens',
  email: 'Enter an email address, like name@example.com',
  organization: 'Enter a name of 1 to 128 characters, without line breaks',
  name: 'Use at most 128 characters, without line breaks',
  password: 'Enter a password',
  current_password: 'Enter your current password',
  new_password: 'Enter a new password',
  invitation_code: 'Enter the invitation code from your mail',
  token: 'Enter the code from your mail',
  description: 'Use at most 1024 characters',
  admin_email: 'Enter an email address, like name@example.com',
  role: 'Choose a role',
};

const PASSWORD_TEXT = 'Choose a longer password: this one is too short ' +
  '(or longer than 256 characters)';

const CLOCK = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/* Words for a wait of s seconds: "about 3 minutes (at 14:05)". */
export function wait(s) {
  const at = ` (at ${CLOCK.format(new Date(Date.now() + s * 1000))})`;
  if (s < 90) return `${Math.max(1, Math.round(s))} seconds${at}`;
  if (s < 5400) return `about ${Math.round(s / 60)} minutes${at}`;
  return `about ${Math.round(s / 3600)} hours${at}`;
}

/*
 * The message for a failed call r, in a form whose fields are the
 * inputs: [{field, text}] (field null for the form as a whole).  texts
 * maps an error code to a text, to {field, text}, or to a function of r
 * giving either, before the defaults apply.
 */
export function problems(r, texts = {}) {
  let own = texts[r.error];
  if (typeof own === 'function') own = own(r);
  if (typeof own === 'string') return [{ field: null, text: own }];
  if (own) return [own];
  switch (r.error) {
    case 'invalid_field':
      return [{ field: r.field, text: FIELD_TEXT[r.field] ||
        'Check this field' }];
    case 'weak_password':
      return [{ field: texts.passwordField || 'password',
        text: PASSWORD_TEXT }];
    case 'username_taken':
      return [{ field: 'username', text: 'That username is taken: ' +
        'choose another' }];
    case 'email_taken':
      return [{ field: 'email', text: 'An account already uses that ' +
        'email address' }];
    case 'organization_taken':
      return [{ field: 'organization', text: 'An organization of that ' +
        'name exists (names are compared ignoring case and accents)' }];
    case 'too_many_requests':
      return [{ field: null, text: 'Too many requests from your ' +
        `network. Try again in ${wait(r.retryAfter || 60)}.` }];
    case 'too_many_attempts':
      return [{ field: null, text: 'Too many failed attempts for this ' +
        `account. Try again in ${wait(r.retryAfter || 60)}.` }];
    case 'forbidden':
      return [{ field: null, text: 'You are not allowed to do that.' }];
    case 'csrf':
      return [{ field: null, text: 'This page lost its session token. ' +
        'Reload the page and try again.' }];
    case 'network':
      return [{ field: null, text: 'latch cannot be reached. Check the ' +
        'connection and try again.' }];
    case 'service_unavailable':
    case 'mail_unavailable':
      return [{ field: null, text: r.error === 'mail_unavailable'
        ? 'The mail could not be queued, so nothing was changed. Try ' +
          'again later, or tell your administrator.'
        : 'latch cannot reach its database right now. Try again in a ' +
          'moment.' }];
    default:
      return [{ field: null, text: 'Something went wrong (' +
        `${r.error || 'HTTP ' + r.status}). Try again; if it keeps ` +
        'failing, tell your administrator.' }];
  }
}

/*
 * The values of form's named controls: checkboxes as booleans, a
 * checked radio's value, everything else as typed (a field marked
 * data-trim has its blanks removed).  Empty fields marked data-optional
 * are left out.
 */
export function values(form) {
  const out = {};
  for (const c of form.elements) {
    if (!c.name || c.disabled || c.type === 'submit') continue;
    if (c.type === 'checkbox') {
      out[c.name] = c.checked;
    } else if (c.type === 'radio') {
      if (c.checked) out[c.name] = c.value;
    } else {
      const v = 'trim' in c.dataset ? c.value.trim() : c.value;
      if (v === '' && 'optional' in c.dataset) continue;
      out[c.name] = v;
    }
  }
  return out;
}

function control(form, name) {
  const c = form.elements.namedItem(name);
  return c instanceof RadioNodeList ? c[0] : c;
}

/* Remove the errors shown on form. */
export function clear(form) {
  form.querySelector(':scope > .error-summary')?.remove();
  for (const p of form.querySelectorAll('.field-error')) p.remove();
  for (const f of form.querySelectorAll('.field-invalid')) {
    f.classList.remove('field-invalid');
  }
  for (const c of form.querySelectorAll('[aria-invalid]')) {
    c.removeAttribute('aria-invalid');
    const ids = (c.getAttribute('aria-describedby') || '').split(' ')
      .filter((id) => !id.endsWith('-error'));
    if (ids.length) c.setAttribute('aria-describedby', ids.join(' '));
    else c.removeAttribute('aria-describedby');
  }
}

/*
 * Show errors [{field, text}] on form: the summary (focused, announced)
 * and, for a field the form has, its own message.
 */
export function show(form, errors) {
  clear(form);
  const list = el('ul');
  for (const { field, text } of errors) {
    const c = field ? control(form, field) : null;
    if (c && c.id) {
      const id = `${c.id}-error`;
      const p = el('p', { class: 'field-error', id },
        el('span', { class: 'visually-hidden' }, 'Error: '), text);
      const wrap = c.closest('.field') || c.parentElement;
      wrap.classList.add('field-invalid');
      const anchor = wrap.querySelector('.hint') ||
        wrap.querySelector(`label[for="${c.id}"]`);
      if (anchor) anchor.after(p);
      else c.before(p);
      c.setAttribute('aria-invalid', 'true');
      c.setAttribute('aria-describedby', [c.getAttribute('aria-describedby'),
        id].filter(Boolean).join(' '));
      list.append(el('li', null, el('a', { href: `#${c.id}` }, text)));
    } else {
      list.append(el('li', null, text));
    }
  }
  const box = el('div', { class: 'error-summary', role: 'alert',
    tabindex: '-1' }, el('h2', null, 'There is a problem'), list);
  for (const a of box.querySelectorAll('a')) {
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      document.getElementById(a.hash.slice(1))?.focus();
    });
  }
  form.prepend(box);
  box.focus();
}

const shown = new WeakMap();

/*
 * A notice just before anchor (a form, or an empty placeholder): text
 * and nodes, announced (role="status", or "alert" with kind "error") and
 * focused, replacing the notice shown there before.
 */
export function notice(anchor, ...content) {
  return place(anchor, 'done', content);
}

export function failure(anchor, ...content) {
  return place(anchor, 'error', content);
}

function place(anchor, kind, content) {
  shown.get(anchor)?.remove();
  const n = el('div', { class: `notice notice-${kind}`, tabindex: '-1',
    role: kind === 'error' ? 'alert' : 'status' }, ...content);
  anchor.before(n);
  shown.set(anchor, n);
  n.focus();
  return n;
}

/* A failed call r told before anchor (an action outside a form). */
export function report(anchor, r, texts) {
  return failure(anchor, problems(r, texts).map((p) => p.text).join(' '));
}

/* Take back the notice shown before anchor. */
export function unnotice(anchor) {
  shown.get(anchor)?.remove();
  shown.delete(anchor);
}

/*
 * Wire form: on submit, handler(values) runs with the submit button
 * disabled; it returns nothing (done) or an API result to explain, with
 * texts for problems().  A form starts with its button disabled until
 * this runs, so nothing is posted before the page's module is ready.
 */
export function onSubmit(form, handler, texts) {
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    form.setAttribute('aria-busy', 'true');
    if (button) button.disabled = true;
    try {
      clear(form);
      unnotice(form);
      const r = await handler(values(form));
      if (r && !r.ok) show(form, problems(r, texts));
    } finally {
      form.removeAttribute('aria-busy');
      if (button) button.disabled = false;
    }
  });
}
