/*
 * mfa.js: "Two-factor sign-in" (mfa.html?next=...).  Owns the signed-in
 * person's second factor: its state, the enrolment (the QR code, the key
 * to type instead, the confirming code), the recovery codes shown once,
 * new recovery codes, and turning it off.  A session that the
 * organization's policy restricts to enrolment lands here (api.js), and
 * goes on to next once it is done.
 *
 * The QR code comes from the API as an SVG document; it is never placed
 * as markup: its size and its one path, checked to be only numbers and
 * path commands, are drawn into SVG elements made here.
 */
import { call, page } from './api.js';
import { notice, onSubmit } from './form.js';
import { $, copyBox, el, facts, param, ready, safeNext, signedIn, timeEl }
  from './layout.js';

const NS = 'http://www.w3.org/2000/svg';
const next = safeNext(param('next')) || page('account.html');

const user = await signedIn();
let st = null;

/* The <svg> of the QR code latch drew, rebuilt from its numbers; null
 * when the answer is not the shape latch makes. */
function qrCode(text) {
  const size = /^<svg [^>]*viewBox="0 0 ([0-9]{1,3}) \1"/.exec(text);
  const path = / d="([Mhvz0-9 -]*)"\/><\/svg>$/.exec(text);
  if (!size || !path) return null;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size[1]} ${size[1]}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'QR code to scan with your ' +
    'authenticator app');
  svg.setAttribute('shape-rendering', 'crispEdges');
  const bg = document.createElementNS(NS, 'rect');
  bg.setAttribute('width', size[1]);
  bg.setAttribute('height', size[1]);
  bg.setAttribute('fill', '#fff');
  const dark = document.createElementNS(NS, 'path');
  dark.setAttribute('fill', '#000');
  dark.setAttribute('d', path[1]);
  svg.append(bg, dark);
  return svg;
}

/* The code field's value as the API takes it: six digits are a code of
 * the app, anything else a recovery code. */
function codeBody(v) {
  const c = (v.code || '').replace(/\s+/g, '');
  return /^[0-9]{6}$/.test(c) ? { code: c } : { recovery_code: c };
}

function showCodes(codes) {
  $('#code-list').replaceChildren(...codes.map((c) => el('li', null, c)));
  $('#codes-copy').replaceChildren(copyBox('codes-all',
    'All the codes, to copy', codes.join(' ')));
  $('#continue').href = next;
  $('#on').hidden = true;
  $('#codes').hidden = false;
  $('#codes-h').focus();
}

function render() {
  const on = st.enabled;
  facts($('#facts'), [['Two-factor sign-in', on ? 'On' : 'Off'],
    ...(on ? [['Since', timeEl(st.enabledAt)],
      ['Recovery codes left', String(st.recoveryCodesLeft)]] : []),
    ['Required by your organization', st.required ? 'Yes' : 'No']]);
  $('#off').hidden = on;
  $('#on').hidden = !on;
  $('#disable-form').hidden = st.required;
  $('#off-h').hidden = st.required;
  if (st.restricted) {
    notice($('#state'), 'Your organization requires two-factor sign-in. ' +
      'Set it up to continue.');
  }
}

async function load() {
  const r = await call('GET', 'user/mfa');
  if (!r.ok) {
    $('#state').append(el('p', { class: 'notice notice-error',
      role: 'alert' }, 'Your two-factor sign-in cannot be loaded right ' +
      'now. Reload the page in a moment.'));
    return false;
  }
  st = r.data.mfa;
  render();
  return true;
}

const UNAVAILABLE = 'Two-factor sign-in is not set up on this server. ' +
  'Tell your administrator.';
const WRONG_CODE = { field: 'code', text: 'This code is not right, or ' +
  'was used already: enter the code your app shows now' };
const WRONG_PASSWORD = { field: 'password', text: 'This is not your ' +
  'current password' };

if (await load()) {
  for (const u of document.querySelectorAll('input[name="username"]')) {
    u.defaultValue = user.username;   /* for password managers */
  }
  onSubmit($('#start-form'), async () => {
    const r = await call('POST', 'user/mfa/totp');
    if (!r.ok) return r;
    const svg = qrCode(r.data.qr_svg);
    const fig = $('#qr');
    fig.querySelector('svg')?.remove();
    if (svg) fig.prepend(svg);
    $('#secret-box').replaceChildren(copyBox('secret', 'Key',
      r.data.secret));
    $('#off').hidden = true;
    $('#enrol').hidden = false;
    $('#enrol-h').focus();
    return null;
  }, { mfa_unavailable: UNAVAILABLE, mfa_enabled: 'Two-factor sign-in ' +
    'is on already. Reload the page.' });

  onSubmit($('#confirm-form'), async (v) => {
    const r = await call('POST', 'user/mfa/totp/confirm', { body: v });
    if (!r.ok) return r;
    $('#enrol').hidden = true;
    $('#confirm-form').reset();
    await load();
    notice($('#state'), 'Two-factor sign-in is on.');
    showCodes(r.data.recovery_codes);
    return null;
  }, { invalid_code: WRONG_CODE, invalid_field: WRONG_CODE,
    mfa_not_enrolled: 'This setup expired. Reload the page and start ' +
      'again.', mfa_unavailable: UNAVAILABLE });

  onSubmit($('#recovery-form'), async (v) => {
    const r = await call('POST', 'user/mfa/recovery-codes', { body: {
      password: v.password, ...codeBody(v) } });
    if (!r.ok) return r;
    $('#recovery-form').reset();
    await load();
    showCodes(r.data.recovery_codes);
    return null;
  }, { invalid_code: WRONG_CODE, invalid_credentials: WRONG_PASSWORD });

  onSubmit($('#disable-form'), async (v) => {
    const r = await call('DELETE', 'user/mfa/totp', { body: {
      password: v.password, ...codeBody(v) } });
    if (!r.ok) return r;
    $('#disable-form').reset();
    $('#codes').hidden = true;
    await load();
    notice($('#state'), 'Two-factor sign-in is off.');
    return null;
  }, { invalid_code: WRONG_CODE, invalid_credentials: WRONG_PASSWORD,
    mfa_required: 'Your organization requires two-factor sign-in: it ' +
      'cannot be turned off.' });
}
ready();
