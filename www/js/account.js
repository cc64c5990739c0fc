/*
 * account.js: "Your account" (account.html).  Owns the signed-in
 * person's own settings: the name, the email address (with the current
 * password; the new address is confirmed by a mailed link), the
 * password, the list of their sessions with "sign out" for each, and
 * signing out here or everywhere; whether their two-factor sign-in is on
 * (managed on mfa.html).
 */
import { call, page } from './api.js';
import { notice, onSubmit, report } from './form.js';
import { $, el, facts, param, ready, rows, signOut, signedIn, timeEl,
  when } from './layout.js';

const WRONG_PASSWORD = { field: 'current_password', text: 'This is not ' +
  'your current password' };

/* A few words for a User-Agent: "Firefox on Linux". */
function device(ua) {
  if (!ua) return 'Unknown device';
  const browsers = [[/Edg\//, 'Edge'], [/OPR\//, 'Opera'],
    [/Firefox\//, 'Firefox'], [/Chrom(e|ium)\//, 'Chrome'],
    [/Safari\//, 'Safari'], [/^curl\//, 'curl']];
  const systems = [[/Android/, 'Android'], [/iPhone|iPad/, 'iOS'],
    [/Windows/, 'Windows'], [/Mac OS X/, 'macOS'], [/CrOS/, 'ChromeOS'],
    [/Linux/, 'Linux']];
  const b = browsers.find(([re]) => re.test(ua));
  const s = systems.find(([re]) => re.test(ua));
  if (!b) return ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
  return s ? `${b[1]} on ${s[1]}` : b[1];
}

let user = await signedIn();

function showFacts() {
  facts($('#facts'), [['Username', user.username],
    ['Organization', user.organizationName], ['Role', user.role],
    ['Email address', user.email],
    ['Member since', timeEl(user.createdAt)]]);
}

async function sessions() {
  const r = await call('GET', 'auth/sessions');
  if (!r.ok) {
    report($('#sessions'), r);
    return;
  }
  rows($('#sessions'), r.data.sessions, (s) => {
    const what = el('span', null, device(s.userAgent));
    if (s.current) {
      what.append(' ', el('span', { class: 'tag tag-on' }, 'This device'));
    }
    let action = '';
    if (!s.current) {
      action = el('button', { type: 'button', class: 'secondary' },
        'Sign out', el('span', { class: 'visually-hidden' },
          ` ${device(s.userAgent)} from ${when(s.createdAt)}`));
      action.addEventListener('click', () => revoke(s));
    }
    return [what, s.ip, timeEl(s.createdAt), timeEl(s.lastUsedAt), action];
  });
}

async function revoke(s) {
  const r = await call('DELETE', `auth/sessions/${s.id}`);
  if (!r.ok && r.status !== 404) {
    report($('#sessions'), r);
    return;
  }
  notice($('#sessions'), `Signed out ${device(s.userAgent)} (signed in ` +
    `${when(s.createdAt)}).`);
  await sessions();
}

showFacts();
for (const u of document.querySelectorAll('input[name="username"]')) {
  u.defaultValue = user.username;   /* for password managers */
}
$('#name').value = user.name;
$('#email').value = user.email;
if (param('welcome')) {
  const next = user.role === 'user' ? [] : [' Next: ',
    el('a', { href: page('invitations.html') }, 'invite the people'),
    ' who should sign in here.'];
  notice($('#state'), el('p', null, `Welcome, ${user.name ||
    user.username}! You are signed in.`, ...next));
}

onSubmit($('#name-form'), async (v) => {
  const r = await call('PATCH', 'user/profile', { body: { name: v.name } });
  if (!r.ok) return r;
  user = r.data.user;
  showFacts();
  notice($('#name-form'), 'Your name is saved.');
  return null;
});

onSubmit($('#email-form'), async (v) => {
  const r = await call('PATCH', 'user/profile', { body: { email: v.email,
    current_password: v.current_password } });
  if (!r.ok) return r;
  const pending = r.data.pendingEmail;
  user = r.data.user;
  showFacts();
  $('#email-password').value = '';
  $('#email').value = user.email;
  notice($('#email-form'), pending ? el('p', null, 'We sent a link to ',
    el('strong', null, pending), '. Your address changes when you open ' +
    'it.') : el('p', null, 'Your email address is now ', el('strong', null,
    user.email), '.'));
  return null;
}, { invalid_credentials: WRONG_PASSWORD });

onSubmit($('#password-form'), async (v) => {
  const r = await call('POST', 'user/password', { body: {
    current_password: v.current_password, new_password: v.new_password } });
  if (!r.ok) return r;
  $('#password-form').reset();
  notice($('#password-form'), 'Your password is changed, and your other ' +
    'sessions are signed out.');
  await sessions();
  return null;
}, { invalid_credentials: WRONG_PASSWORD, passwordField: 'new_password' });

const mfa = await call('GET', 'user/mfa');
if (mfa.ok) {
  const m = mfa.data.mfa;
  $('#mfa-text').textContent = m.enabled ? `On since ${when(m.enabledAt)}, ` +
    `with ${m.recoveryCodesLeft} recovery codes left.` : 'Off: signing ' +
    'in needs your password only.' + (m.required ? ' Your organization ' +
    'requires it.' : '');
}

$('#sign-out').addEventListener('click', () => signOut(false));
$('#sign-out-all').addEventListener('click', () => signOut(true));
await sessions();
ready();
