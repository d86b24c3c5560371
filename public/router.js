// In-place navigation for the islands build (ARCHITECTURE.md, "The browser
// bundle"). Pages are rendered on the server only; the browser runs just
// the islands (the interactive parts). Once the islands are hydrated, this
// script follows same-origin links and form submissions itself: it fetches
// the next page as the browser would, morphs the document into it (the
// same elements stay where they are, so focus, what is typed and the
// scroll position survive), and hydrates the islands the new page brings.
// Without JavaScript, or before hydration, links and forms work as plain
// HTML, and they answer the same pages.
//
// It also makes a table row marked `clickable` open its link.
//
// Two events drive it from the islands: `popstate` (go to `location`,
// already pushed by the caller) and `portcullis:refresh` (render the
// current page again for a live update, keeping what the user has typed,
// checked or opened).

let latest = 0;
// The visit the user asked for that has not answered yet, if any: a live
// refresh does not overtake it (its answer is as fresh).
let asked = 0;

/** Whether the islands are hydrated (and so can be hydrated again). */
function ready() {
  return document.body.dataset.hydrated === 'true' && typeof window.__hydrateIsland === 'function';
}

addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey || !ready()) return;
  const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
  if (!a || a.target || a.hasAttribute('download') || a.relList.contains('external')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  // A link to a place on this page is the browser's.
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  ev.preventDefault();
  visit(url.href, { history: 'push' });
});

// A table row marked `clickable` opens its `row-link` when clicked
// anywhere but on one of its controls (the link itself works without
// JavaScript).
addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || !(ev.target instanceof Element)) return;
  const row = ev.target.closest('tr.clickable');
  if (!row || ev.target.closest('a, button, input, select, textarea, summary, details, form, label')) return;
  const link = row.querySelector('a.row-link');
  if (link) link.click();
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

addEventListener('popstate', () => {
  if (ready()) visit(location.href, { history: 'none' });
});

addEventListener('portcullis:refresh', () => {
  if (ready() && !asked) visit(location.href, { history: 'none', keepScroll: true, keepState: true });
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

/**
 * Fetches `url` and morphs the document into the answer. Only the latest
 * visit applies its answer.
 */
async function visit(url, options) {
  const mine = ++latest;
  if (!options.keepState) asked = mine;
  const done = options.form ? busy(options.form, options.submitter) : () => {};
  try {
    await load(url, mine, options);
  } finally {
    done();
    if (asked === mine) asked = 0;
  }
}

async function load(url, mine, { method = 'GET', body = null, history, form = null, keepScroll = false, keepState = false }) {
  let response;
  try {
    response = await fetch(url, { method, body, headers: { Accept: 'text/html' }, credentials: 'same-origin' });
  } catch (e) {
    // Offline or refused: let the browser try, and say what it says.
    if (method === 'GET') location.assign(url);
    else if (form) form.submit();
    return;
  }
  const type = response.headers.get('content-type') || '';
  if (!type.startsWith('text/html')) {
    // Not a page (a file): the browser's.
    location.assign(response.url);
    return;
  }
  const html = await response.text();
  if (mine !== latest) return;
  const next = new DOMParser().parseFromString(html, 'text/html');
  const landed = response.url || url;
  const samePage = new URL(landed).pathname === location.pathname;
  // A refused form post comes back with the reason in `__err`: what was
  // typed into the form stays, as it does next to its messages.
  const refused = form && new URL(landed).searchParams.has('__err');
  for (const island of document.querySelectorAll('leptos-island')) island.$$hydrated = true;
  morphHead(next);
  morphNode(document.body, next.body, { keepState, keepForm: refused ? form : null, body: document.body });
  if (history === 'push') {
    if (landed === location.href) window.history.replaceState(null, '', landed);
    else window.history.pushState(null, '', landed);
  } else if (history === 'replace' || landed !== location.href) {
    window.history.replaceState(null, '', landed);
  }
  if (!keepScroll && !(form && samePage)) {
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) target.scrollIntoView();
    else window.scrollTo(0, 0);
    // A new page: its heading has the focus, as after a page load the
    // document has (assistive technology reads where the user is).
    const heading = document.querySelector('main h1');
    if (heading && history !== 'none') {
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
  return node.id ? `id ${node.id}` : null;
}

/** Whether `old` can become `wanted` in place. */
function same(old, wanted) {
  if (old.nodeType !== wanted.nodeType) return false;
  if (old.nodeType !== Node.ELEMENT_NODE) return true;
  return old.tagName === wanted.tagName && key(old) === key(wanted)
    && (old.tagName !== 'INPUT' || old.type === wanted.type);
}

/** Makes `old` (in the document) like `wanted` (in the fetched page). */
function morphNode(old, wanted, ctx) {
  if (old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeValue !== wanted.nodeValue) old.nodeValue = wanted.nodeValue;
    return;
  }
  // An island with the same props keeps its state; another is new.
  if (old.tagName === 'LEPTOS-ISLAND') return;
  const userState = ctx.keepState || (ctx.keepForm && ctx.keepForm.contains(old)) || old === document.activeElement;
  morphAttributes(old, wanted, ctx, userState);
  if (old.tagName === 'TEXTAREA') {
    if (!userState) old.value = wanted.textContent;
    return;
  }
  morphChildren(old, wanted, ctx);
  if (userState) return;
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

function morphAttributes(old, wanted, ctx, userState) {
  for (const { name, value } of Array.from(wanted.attributes)) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  // The body's own marks (hydrated, live) are this document's.
  if (old === ctx.body) return;
  for (const { name } of Array.from(old.attributes)) {
    if (wanted.hasAttribute(name)) continue;
    // An opened <details> stays open while the user reads the page.
    if (name === 'open' && userState) continue;
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
