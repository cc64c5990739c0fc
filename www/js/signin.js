/*
 * signin.js: the sign-in page (signin.html?next=...).  Owns the sign-in
 * and where it leads: back to next when next is a page of this site
 * (anything else is ignored: no open redirect), else to the account;
 * the second step of an account with two-factor sign-in; and a session
 * the organization requires to enrol first goes to mfa.html.  A
 * person whose session only lacks a live access token (after the
 * authorizer sent them here) goes straight back, refreshed.
 */
import { call, page } from './api.js';
import { notice, onSubmit, wait } from './form.js';
import { $, param, ready, safeNext } from './layout.js';

const home = safeNext(param('next')) || page('account.html');

/* Where a sign-in answered with login leads: on, or to the enrolment the
 * organization requires first. */
function go(login) {
  location.assign(login.mfa_enrollment_required
    ? page('mfa.html', { next: home }) : home);
}

/*
 * The second step of an account with two-factor sign-in: the code of
 * the app, or a recovery code (anything that is not six digits), for
 * the challenge token (kept in this page's memory only).
 */
function secondStep(token) {
  const form = $('#second');
  $('#signin').hidden = true;
  form.hidden = false;
  $('#password').value = '';
  $('#second-h').focus();
  onSubmit(form, async (v) => {
    const c = v.code.replace(/\s+/g, '');
    const body = /^[0-9]{6}$/.test(c) ? { mfa_token: token, code: c }
      : { mfa_token: token, recovery_code: c };
    const r = await call('POST', 'auth/mfa', { body, session: false });
    if (!r.ok) return r;
    go(r.data);
    return null;
  }, {
    invalid_code: { field: 'code', text: 'This code is not right, or was ' +
      'used already: enter the code your app shows now' },
    invalid_field: { field: 'code', text: 'Enter the code from your app' },
    invalid_token: 'This sign-in took too long. Start again.',
    too_many_attempts: (r) => 'Too many wrong codes or passwords for ' +
      `this account: it is locked for now. Try again in ${wait(
        r.retryAfter || 60)}.`,
    mfa_unavailable: 'Two-factor sign-in is not working on this server ' +
      'right now. Tell your administrator.',
  });
  $('#restart').addEventListener('click', () => {
    location.reload();
  });
}

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
      if (r.data.mfa_required) {
        secondStep(r.data.mfa_token);
        return null;
      }
      go(r.data);
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
