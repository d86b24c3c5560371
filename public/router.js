// In-place navigation for the islands build (ARCHITECTURE.md, "The browser
// bundle"). Pages are rendered on the server only; the browser runs just
// the islands (the interactive parts). Once the islands are hydrated, this
// script follows same-origin links and form submissions itself: it fetches
// what the browser would have loaded, morphs the document into it (the
// same elements stay where they are, so focus, what is typed and the
// scroll position survive), and hydrates the islands the new page brings.
// Without JavaScript, or before hydration, links and forms work as plain
// HTML, and they answer the same pages.
//
// It also submits a search form marked `data-as-you-type` a moment after
// each change, and makes a table row marked `clickable` open its link.
//
// Two events drive it from the islands: `portcullis:visit` (go to the
// event's `detail`, a URL; cancelled when taken) and `portcullis:refresh`
// (render the current page again for a live update, keeping what the user
// has typed, checked or opened).

/** How long typing pauses before a search as you type runs. */
const TYPING_PAUSE_MS = 150;

// Only the latest visit's answer is applied.
let latest = 0;
// The visit the user asked for that has not answered yet, if any. A live
// refresh asked for meanwhile runs after it lands, on the page it brings.
let asked = 0;
let refreshAfter = false;
// The form controls the user changed since the latest visit started: the
// answer does not overwrite them.
let edited = new WeakSet();
// The page on screen, without its fragment.
let rendered = withoutHash(location.href);

/** Whether the islands are hydrated (and so can be hydrated again). */
function ready() {
  return document.body.dataset.hydrated === 'true' && typeof window.__hydrateIsland === 'function';
}

function withoutHash(href) {
  const url = new URL(href, location.href);
  url.hash = '';
  return url.href;
}

addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey || !ready()) return;
  if (!(ev.target instanceof Element)) return;
  const a = ev.target.closest('a[href]');
  if (!a) {
    // A clickable row opens its link when clicked off its controls (the
    // link itself works without JavaScript).
    const row = ev.target.closest('tr.clickable');
    const link = row && !ev.target.closest('button, input, select, textarea, summary, details, form, label') && row.querySelector('a.row-link');
    if (link) link.click();
    return;
  }
  if (a.target || a.hasAttribute('download') || a.relList.contains('external')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  // A place on this page is the browser's.
  if (url.hash && withoutHash(url.href) === rendered) return;
  ev.preventDefault();
  visit(url.href, { history: 'push' });
});

addEventListener('submit', (ev) => {
  if (ev.defaultPrevented || !ready()) return;
  const form = ev.target;
  if (!(form instanceof HTMLFormElement) || form.target) return;
  const submitter = ev.submitter;
  const method = ((submitter && submitter.getAttribute('formmethod')) || form.getAttribute('method') || 'get').toLowerCase();
  const action = submitter && submitter.hasAttribute('formaction') ? submitter.formAction : form.action;
  const url = new URL(action, location.href);
  if (url.origin !== location.origin || (method !== 'get' && method !== 'post')) return;
  const params = new URLSearchParams(new FormData(form, submitter));
  ev.preventDefault();
  if (method === 'get') {
    url.search = params.toString();
    // A search answers on the page it was typed on: it replaces the entry.
    const searching = form.getAttribute('role') === 'search' && url.pathname === location.pathname;
    visit(url.href, { history: searching ? 'replace' : 'push', keepScroll: searching });
  } else {
    visit(url.href, { method: 'POST', body: params, history: 'push', form, submitter });
  }
});

// What the user changes is theirs until the next visit; a search as you
// type submits itself once typing pauses.
let typing = 0;
for (const kind of ['input', 'change']) {
  addEventListener(kind, (ev) => {
    if (!(ev.target instanceof Element)) return;
    edited.add(ev.target);
    const form = kind === 'input' && ev.target.closest('form[data-as-you-type]');
    if (!form || !ready()) return;
    clearTimeout(typing);
    typing = setTimeout(() => { if (form.isConnected) form.requestSubmit(); }, TYPING_PAUSE_MS);
  }, true);
}

addEventListener('popstate', (ev) => {
  // Another fragment of the page on screen is the browser's.
  if (!ready() || withoutHash(location.href) === rendered) return;
  visit(location.href, { history: 'none', scrollTo: ev.state && ev.state.scroll });
});

addEventListener('portcullis:visit', (ev) => {
  if (!ready() || typeof ev.detail !== 'string') return;
  ev.preventDefault();
  visit(new URL(ev.detail, location.href).href, { history: 'push' });
});

addEventListener('portcullis:refresh', () => {
  if (!ready()) return;
  if (asked) refreshAfter = true;
  else visit(location.href, { history: 'none', keepScroll: true, keepState: true });
});

/**
 * Marks a form as sent until its answer is in: `aria-busy` on the form, and
 * its submit button disabled, saying its `data-busy` words. Returns what
 * undoes it (the answer's render usually has already).
 */
function busy(form, submitter) {
  form.setAttribute('aria-busy', 'true');
  const button = submitter instanceof HTMLButtonElement ? submitter : null;
  const label = button && button.textContent;
  if (button) {
    button.disabled = true;
    if (button.dataset.busy) button.textContent = button.dataset.busy;
  }
  return () => {
    form.removeAttribute('aria-busy');
    if (button && button.dataset.busy && button.textContent === button.dataset.busy) button.textContent = label;
    if (button) button.disabled = false;
  };
}

/** Says `message` at the top of `form`, as the server says a form's error. */
function say(form, message) {
  if (!form.isConnected) return;
  let box = form.querySelector(':scope > .form-error[data-router]');
  if (!box) {
    box = document.createElement('div');
    box.className = 'form-error';
    box.setAttribute('role', 'alert');
    box.dataset.router = '';
    form.prepend(box);
  }
  box.textContent = message;
}

async function visit(url, options) {
  const mine = ++latest;
  edited = new WeakSet();
  if (!options.keepState) {
    asked = mine;
    document.documentElement.dataset.visiting = '';
  }
  const done = options.form ? busy(options.form, options.submitter) : () => {};
  try {
    await load(url, mine, options);
  } finally {
    done();
    if (asked === mine) {
      asked = 0;
      delete document.documentElement.dataset.visiting;
      if (refreshAfter) {
        refreshAfter = false;
        if (document.querySelector('[data-live-page]')) dispatchEvent(new Event('portcullis:refresh'));
      }
    }
  }
}

async function load(url, mine, { method = 'GET', body = null, history, form = null, submitter = null, keepScroll = false, keepState = false, scrollTo = null }) {
  let response;
  try {
    response = await fetch(url, { method, body, headers: { Accept: 'text/html' }, credentials: 'same-origin' });
  } catch (e) {
    if (mine !== latest || keepState) return;
    // A post may have reached the server: it is not sent again.
    if (form) say(form, 'The connection failed before the server answered. Check your connection, then reload the page to see whether the change was made.');
    else location.assign(url);
    return;
  }
  const type = response.headers.get('content-type') || '';
  if (!type.startsWith('text/html')) {
    const text = form ? (await response.text()).trim() : '';
    if (mine !== latest || keepState) return;
    // A refused post answers in plain text; anything else is not a page
    // (a file): the browser's.
    if (form) say(form, text || `The server could not take this (${response.status}).`);
    else location.assign(response.url);
    return;
  }
  const html = await response.text();
  if (mine !== latest) return;
  const next = new DOMParser().parseFromString(html, 'text/html');
  const wanted = new URL(url, location.href);
  const landedUrl = new URL(response.url || wanted.href);
  // A redirect drops the fragment; the page asked for keeps it.
  if (wanted.hash && !landedUrl.hash && landedUrl.pathname === wanted.pathname) landedUrl.hash = wanted.hash;
  const landed = landedUrl.href;
  // Another release of the server: its bundle may not read this page's
  // islands. The browser loads the page.
  if (bundle(next) !== bundle(document)) {
    location.assign(landed);
    return;
  }
  // A refused form post comes back with the reason in `__err`: what was
  // typed into the form stays next to its messages. An accepted one is
  // rendered empty again.
  const refused = form && landedUrl.searchParams.has('__err');
  const ctx = {
    keepState,
    keepForm: refused ? form : null,
    resetForm: form && !refused ? form : null,
    edited,
    body: document.body,
  };
  const samePage = landedUrl.pathname === location.pathname;
  for (const island of document.querySelectorAll('leptos-island')) island.$$hydrated = true;
  // Where the user was on the page they leave, for Back (read before the
  // new page, which may be shorter, moves it).
  const left = window.scrollY;
  try {
    morphHead(next);
    morphNode(document.body, next.body, ctx);
  } catch (e) {
    console.error(e);
    location.assign(landed);
    return;
  }
  if (history === 'push') {
    window.history.replaceState({ ...window.history.state, scroll: left }, '');
    if (landed === location.href) window.history.replaceState(null, '', landed);
    else window.history.pushState(null, '', landed);
  } else if (history === 'replace' || landed !== location.href) {
    window.history.replaceState(history === 'none' ? window.history.state : null, '', landed);
  }
  rendered = withoutHash(landed);
  if (typeof scrollTo === 'number') {
    window.scrollTo(0, scrollTo);
  } else if (!keepScroll && !(form && samePage)) {
    const target = landedUrl.hash && document.getElementById(safeDecode(landedUrl.hash.slice(1)));
    if (target) target.scrollIntoView();
    else window.scrollTo(0, 0);
    // A new page: its heading has the focus, as after a page load the
    // document has (assistive technology reads where the user is).
    const heading = document.querySelector('main h1');
    if (heading && history === 'push') {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
  for (const island of document.querySelectorAll('leptos-island')) {
    if (!island.$$hydrated) {
      island.$$hydrated = true;
      window.__hydrateIsland(island, island.dataset.component);
    }
  }
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The bundle a document loads (its names carry a content hash in release). */
function bundle(doc) {
  const css = doc.querySelector('link[rel="stylesheet"]');
  const js = doc.querySelector('link[rel="modulepreload"]');
  return `${css && css.getAttribute('href')} ${js && js.getAttribute('href')}`;
}

/** The title and the named metas (the live-update position) of `next`. */
function morphHead(next) {
  document.title = next.title;
  for (const meta of next.head.querySelectorAll('meta[name]')) {
    const mine = document.head.querySelector(`meta[name="${CSS.escape(meta.getAttribute('name'))}"]`);
    if (mine) mine.setAttribute('content', meta.getAttribute('content') || '');
  }
}

/** What identifies an element among its siblings, if anything does. */
function key(node) {
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  if (node.tagName === 'LEPTOS-ISLAND') return `island ${node.dataset.component} ${node.dataset.props || ''}`;
  // The attribute: a form's `id` property may be a control named "id".
  const id = node.getAttribute('id');
  return id ? `id ${id}` : null;
}

/** Whether `old` can become `wanted` in place. */
function same(old, wanted) {
  if (old.nodeType !== wanted.nodeType) return false;
  if (old.nodeType !== Node.ELEMENT_NODE) return true;
  return old.tagName === wanted.tagName && key(old) === key(wanted)
    && (old.tagName !== 'INPUT' || old.type === wanted.type);
}

/** Whether `el` holds something the user chose (not a hidden value). */
function userControl(el) {
  if (el.tagName === 'INPUT') return !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type);
  return el.tagName === 'TEXTAREA' || el.tagName === 'SELECT';
}

/** Whether the user's value of control `el` stays over the server's. */
function keepsValue(el, ctx) {
  if (!userControl(el)) return false;
  if (ctx.keepState || ctx.edited.has(el)) return true;
  if (ctx.keepForm && ctx.keepForm.contains(el)) return true;
  if (ctx.resetForm && ctx.resetForm.contains(el)) return false;
  return el === document.activeElement;
}

/** Whether an opened `<details>` stays open (while the user reads it, or
 * around a refused form). */
function keepsOpen(el, ctx) {
  return el.tagName === 'DETAILS' && (ctx.keepState || (ctx.keepForm !== null && el.contains(ctx.keepForm)));
}

/** Makes `old` (in the document) like `wanted` (in the fetched page). */
function morphNode(old, wanted, ctx) {
  if (old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeValue !== wanted.nodeValue) old.nodeValue = wanted.nodeValue;
    return;
  }
  // An island with the same props keeps its state; another is new.
  if (old.tagName === 'LEPTOS-ISLAND') return;
  morphAttributes(old, wanted, ctx);
  const keep = keepsValue(old, ctx);
  if (old.tagName === 'TEXTAREA') {
    if (!keep) old.value = wanted.textContent;
    return;
  }
  morphChildren(old, wanted, ctx);
  if (keep) return;
  if (old.tagName === 'INPUT') {
    if (old.type === 'checkbox' || old.type === 'radio') old.checked = wanted.hasAttribute('checked');
    else if (old.type !== 'file') {
      const value = wanted.getAttribute('value') || '';
      if (old.value !== value) old.value = value;
    }
  } else if (old.tagName === 'SELECT') {
    const chosen = Array.from(old.options).findIndex((o, i) => wanted.options[i] && wanted.options[i].hasAttribute('selected'));
    old.selectedIndex = chosen === -1 ? (old.multiple ? -1 : 0) : chosen;
  }
}

function morphAttributes(old, wanted, ctx) {
  for (const { name, value } of Array.from(wanted.attributes)) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  // The body's own marks (hydrated, live) are this document's.
  if (old === ctx.body) return;
  for (const { name } of Array.from(old.attributes)) {
    if (wanted.hasAttribute(name) || (name === 'open' && keepsOpen(old, ctx))) continue;
    old.removeAttribute(name);
  }
}

function morphChildren(old, wanted, ctx) {
  let cursor = old.firstChild;
  for (const node of Array.from(wanted.childNodes)) {
    let match = null;
    if (key(node)) {
      for (let c = cursor; c; c = c.nextSibling) {
        if (same(c, node)) { match = c; break; }
      }
    } else if (cursor && !key(cursor) && same(cursor, node)) {
      match = cursor;
    }
    if (match) {
      if (match === cursor) cursor = cursor.nextSibling;
      else old.insertBefore(match, cursor);
      morphNode(match, node, ctx);
    } else {
      old.insertBefore(document.importNode(node, true), cursor);
    }
  }
  while (cursor) {
    const next = cursor.nextSibling;
    old.removeChild(cursor);
    cursor = next;
  }
}
