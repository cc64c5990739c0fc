/*
 * signin.js: the sign-in page (signin.html?next=...).  Owns the sign-in
 * and where it leads: back to next when next is a page of this site
 * (anything else is ignored: no open redirect), else to the account.  A
 * person whose session only lacks a live access token (after the
 * authorizer sent them here) goes straight back, refreshed.
 */
import { call, page } from './api.js';
import { notice, onSubmit, wait } from './form.js';
import { $, param, ready, safeNext } from './layout.js';

const home = safeNext(param('next')) || page('account.html');

const setup = await call('GET', 'setup', { session: false });
if (setup.ok && setup.data.setup_required) {
  location.replace(page('setup.html'));
} else {
  if (setup.ok && setup.data.registration_open) $('#open-reg').hidden = false;
  const me = await call('GET', 'user/profile', { session: 'optional' });
  if (me.ok) {
    location.replace(home);
  } else {
    if (param('signed_out')) notice($('#state'), 'You are signed out.');
    onSubmit($('#signin'), async (v) => {
      const r = await call('POST', 'auth/login', {
        body: { ...v, cookie: true }, session: false });
      if (!r.ok) return r;
      location.assign(home);
      return null;
    }, {
      invalid_credentials: { field: 'identifier', text: 'The username or ' +
        'email address, or the password, is not right' },
      account_disabled: 'This account is disabled. Ask an administrator ' +
        'of your organization to enable it.',
      too_many_attempts: (r) => 'Too many failed sign-ins for this ' +
        `account: it is locked for now. Try again in ${wait(r.retryAfter ||
        60)}, or reset your password.`,
      too_many_requests: (r) => 'Too many sign-in attempts from your ' +
        `network. Try again in ${wait(r.retryAfter || 60)}.`,
    });
    ready();
  }
}
