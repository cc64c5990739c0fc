/*
 * api-keys.js: "API keys" (api-keys.html?organization_id=).  Owns making
 * a key (shown once, here, with "Copy") and the organization's keys,
 * each with "Revoke", which ends it at once.
 */
import { call } from './api.js';
import { notice, onSubmit, report } from './form.js';
import { $, copyBox, el, ready, rows, scopedQuery, signedIn, timeEl } from
  './layout.js';

await signedIn('admin');

async function list() {
  const r = await call('GET', 'api-keys', { query: scopedQuery() });
  if (!r.ok) {
    report($('#keys-state'), r);
    return;
  }
  const keys = r.data.api_keys;
  $('#none').hidden = keys.length > 0;
  rows($('#keys'), keys, (k) => {
    const revoke = el('button', { type: 'button', class: 'secondary' },
      'Revoke', el('span', { class: 'visually-hidden' }, ` ${k.name}`));
    revoke.addEventListener('click', () => drop(k));
    return [k.name, k.role, k.createdByUsername || 'latchctl',
      timeEl(k.createdAt), timeEl(k.lastUsedAt, 'Never'),
      timeEl(k.expiresAt, 'Never'), revoke];
  });
}

async function drop(k) {
  const r = await call('DELETE', `api-keys/${k.id}`,
    { query: scopedQuery() });
  if (!r.ok) {
    report($('#keys-state'), r, { not_found: 'That key was revoked ' +
      'meanwhile.' });
  } else {
    notice($('#keys-state'), `Revoked ${k.name}: it no longer works.`);
  }
  await list();
}

onSubmit($('#newkey'), async (v) => {
  const body = { name: v.name, role: v.role };
  if (v.expires) body.expires_at = `${v.expires}T00:00:00Z`;
  const r = await call('POST', 'api-keys', { query: scopedQuery(), body });
  if (!r.ok) return r;
  const k = r.data.api_key;
  $('#newkey').reset();
  notice($('#newkey'), el('p', null, 'Made ', el('strong', null, k.name),
    '. Copy the key now: it is shown only here and now, and cannot be ' +
    'seen again.'), copyBox('new-key', 'API key', k.key),
  el('p', { class: 'hint' }, 'The service sends it as ',
    el('code', null, 'Authorization: Bearer <key>'), '.'));
  await list();
  return null;
}, { invalid_field: (r) => ({
  expires_at: { field: 'expires', text: 'Choose a day after today' },
  name: { field: 'name', text: 'Enter a name of 1 to 128 characters, ' +
    'without line breaks' },
}[r.field] || { field: r.field, text: 'Check this field' }),
forbidden: 'You cannot make a key with that role.' });

await list();
ready();
