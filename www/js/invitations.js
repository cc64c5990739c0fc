/*
 * invitations.js: "Invitations" (invitations.html?organization_id=).
 * Owns inviting someone (by mail, or as a link to pass on: the code is
 * shown once, here) and the pending invitations, each with "send again"
 * (a new code; the old link stops working) and "revoke".
 */
import { call, page } from './api.js';
import { notice, onSubmit, report, wait } from './form.js';
import { $, copyBox, el, ready, rows, scopedQuery, signedIn, timeEl,
  when } from './layout.js';

const me = await signedIn('admin');
if (me.role === 'superadmin') {
  $('#role').append(el('option', { value: 'superadmin' }, 'Superadmin'));
}

const MAIL_WAIT = {
  too_many_requests: (r) => 'An invitation mail went to this address a ' +
    `moment ago. Try again in ${wait(r.retryAfter || 60)}.`,
};

async function list() {
  const r = await call('GET', 'invitations', { query: scopedQuery() });
  if (!r.ok) {
    report($('#pending-state'), r);
    return;
  }
  const items = r.data.invitations;
  $('#none').hidden = items.length > 0;
  rows($('#pending'), items, (inv) => {
    const resend = el('button', { type: 'button', class: 'secondary' },
      'Send again', el('span', { class: 'visually-hidden' },
        ` to ${inv.email}`));
    const revoke = el('button', { type: 'button', class: 'secondary' },
      'Revoke', el('span', { class: 'visually-hidden' },
        ` the invitation of ${inv.email}`));
    resend.addEventListener('click', () => act(inv, 'resend'));
    revoke.addEventListener('click', () => act(inv, 'revoke'));
    return [inv.email, inv.role, timeEl(inv.createdAt),
      timeEl(inv.expiresAt), el('span', null, resend, revoke)];
  });
}

async function act(inv, what) {
  const r = what === 'resend'
    ? await call('POST', `invitations/${inv.id}/resend`,
      { query: scopedQuery() })
    : await call('DELETE', `invitations/${inv.id}`,
      { query: scopedQuery() });
  if (!r.ok) {
    report($('#pending-state'), r, r.status === 404 ? {
      not_found: 'That invitation was used or revoked meanwhile.' }
      : MAIL_WAIT);
  } else {
    notice($('#pending-state'), what === 'resend' ? `Sent again to ${
      inv.email}; the earlier link no longer works. It now expires ${when(
      r.data.invitation.expiresAt)}.` : `Revoked the invitation of ${
      inv.email}.`);
  }
  await list();
}

onSubmit($('#invite'), async (v) => {
  const mailed = v.send_email !== 'false';
  const r = await call('POST', 'invitations', { query: scopedQuery(),
    body: { email: v.email, role: v.role, send_email: mailed } });
  if (!r.ok) return r;
  const inv = r.data.invitation;
  const link = inv.url || page('register.html', { code: inv.code });
  $('#invite').reset();
  notice($('#invite'), el('p', null, 'Invitation created for ',
    el('strong', null, inv.email), mailed ? '. The mail is on its way.'
      : '. Pass this link on to them; it is shown only here and now.'),
  copyBox('invite-link', 'Invitation link', link),
  el('p', { class: 'hint' }, `It works once, until ${when(inv.expiresAt)}.`));
  await list();
  return null;
}, { email_taken: { field: 'email', text: 'An account already uses this ' +
  'address' }, ...MAIL_WAIT });

await list();
ready();
