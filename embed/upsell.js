// The one script a merchant's page loads. It defines the <dodo-upsell> element; each element
// gets the widget in its own shadow root (with the widget's stylesheet), so neither the page's
// CSS nor ours leaks across. An external module with no inline code and no eval: a strict
// Content-Security-Policy needs only this script's origin and 'wasm-unsafe-eval'.
//
// Speed: everything the widget waits for starts as soon as this script runs, in parallel: the
// wasm, its stylesheet and each element's first request to the proxy. The wasm then finds the
// offers already on their way (or arrived) instead of asking only once it is ready.
//
// The files are named by their content (`dodo-upsell.<hash>.js`): the build writes their names
// here, so a browser may keep them for good and a new release is new names. Only what the first
// offer needs is loaded for every page. The parts of the widget fetched on demand (plan changes,
// each language but English) are fetched by the widget when it needs them; where this script
// can tell an element will (an account page, a page in another language), it starts them now.

const here = (file) => new URL(file, import.meta.url).href;
const files = {
  glue: here("./dodo-upsell.js"),
  linker: here("./__wasm_split.js"),
  wasm: here("./dodo-upsell_bg.wasm"),
  stylesheet: here("./widget.css"),
};
// Each part fetched on demand and its files, as the build found them (`upsell-files.json`).
const parts = "on-demand-parts";
const stylesheet = files.stylesheet;

function hint(rel, href, as) {
  const link = document.createElement("link");
  link.rel = rel;
  link.href = href;
  if (as) link.as = as;
  // As the widget will fetch it (`fetch()`: CORS, credentials for the same origin only).
  if (as === "fetch") link.crossOrigin = "anonymous";
  document.head.append(link);
}
hint("preload", stylesheet, "style");
// The glue imports the split runtime: fetched now, not once the glue has arrived.
hint("modulepreload", files.linker);

// The languages the widget speaks besides English, by the language of a locale, as
// `src/i18n/mod.rs` chooses them.
const languageParts = { pt: "language_pt_br", es: "language_es", fr: "language_fr", de: "language_de" };
const started = new Set();

// Starts fetching `names` (parts of the widget) unless they are on their way already.
function startParts(names) {
  for (const name of names) {
    for (const file of parts[name] ?? []) {
      if (started.has(file)) continue;
      started.add(file);
      hint("preload", here(`./${file}`), "fetch");
    }
  }
}

// The customer's language, as `src/embed.rs` reads it: the element's `locale`, the page's
// `lang`, the browser's.
function localeOf(element) {
  return (
    element.getAttribute("locale")?.trim() ||
    document.documentElement.getAttribute("lang")?.trim() ||
    navigator.language ||
    "en"
  );
}

// Starts the parts `element` will need as soon as it is mounted: its language, and on an
// account page the plan changes.
function prefetchParts(element) {
  const attribute = (name) => element.getAttribute(name)?.trim() || undefined;
  const locale = localeOf(element);
  startParts([languageParts[locale.split(/[-_]/)[0].toLowerCase()]]);
  if (attribute("account-token")) startParts(["plan_change"]);
}

const wasm = fetch(files.wasm);
const ready = import(files.glue).then(async (glue) => {
  await glue.default({ module_or_path: wasm });
  return glue;
});

// The purchase a thank-you page follows, from its link, without leaving the link a key to the
// customer's card. Dodo's redirect names the purchase in the URL (`?payment_id=…&status=…`),
// and unless the proxy is in strict mode, whoever holds that URL may ask for its offers and
// accept them in one click until the offer window closes. So once read, both parameters leave
// the address bar (`history.replaceState`: the same history entry, the page's other
// parameters, hash and history state kept): the tab's history, bookmarks and links copied from
// the address bar no longer carry them. A reload must still show the offer, so the id is kept
// in `sessionStorage`: this tab's alone (never shared by a link or with another tab), gone with
// the tab, under the page's path so that another page of the shop does not inherit it; and in
// `taken` for the page's other widgets, where storage is off.
const taken = {};
function pagePayment() {
  const key = `dodo-upsell:payment_id:${location.pathname}`;
  const url = new URL(location.href);
  const params = url.searchParams;
  const id = params.get("payment_id");
  try {
    if (!id) return taken[key] ?? (sessionStorage.getItem(key) || undefined);
    taken[key] = id;
    // Every `payment_id` (a return from a checkout adds a second one), and Dodo's `status`;
    // out of the address bar first, whether or not storage works.
    params.delete("payment_id");
    params.delete("status");
    history.replaceState(history.state, "", url);
    sessionStorage.setItem(key, id);
  } catch {} // storage off: a reload shows nothing
  return id || undefined;
}

// The widget's first request, as `src/api.rs` sends it: an account page's plan changes, or the
// offers of the purchase in the element's `payment-id` (default: the page's, see
// `pagePayment`), with its `purchase-token` if it has one (strict mode), in the customer's
// language (for the merchant's words). `key` names what was asked, so that an answer is used
// only for the question it answers.
function firstRequest(element) {
  const attribute = (name) => element.getAttribute(name)?.trim() || undefined;
  const endpoint = (attribute("endpoint") ?? "").replace(/\/+$/, "");
  const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });
  const locale = `locale=${encodeURIComponent(localeOf(element))}`;
  const token = attribute("account-token");
  if (token) {
    const url = `${endpoint}/v1/plan-changes?${locale}`;
    return { key: `${url} ${token}`, url, init: bearer(token) };
  }
  // The page's link is cleaned whichever the widget follows: it is the key either way.
  const fromPage = pagePayment();
  const payment = attribute("payment-id") ?? fromPage;
  if (!payment) return undefined;
  const url = `${endpoint}/v1/offers?payment_id=${encodeURIComponent(payment)}&${locale}`;
  const purchaseToken = attribute("purchase-token");
  const init = purchaseToken ? bearer(purchaseToken) : undefined;
  return { key: `${url} ${purchaseToken ?? ""}`, url, init };
}

function send(request) {
  const answer = fetch(request.url, request.init);
  // A purchase that opens plan changes shows them first: their part is started as soon as the
  // answer says so, while the main wasm is still on its way. (A copy of the answer is read:
  // the widget reads the answer itself, after this.)
  answer
    .then((response) => response.ok && response.clone().json())
    .then((body) => {
      if (body?.plan_changes?.length) startParts(["plan_change"]);
    })
    .catch(() => {});
  // The widget reads it once mounted; a failure before then (the proxy down, the element
  // removed) must not surface as an unhandled rejection in the merchant's error monitoring.
  answer.catch(() => {});
  return { key: request.key, answer };
}

class DodoUpsellElement extends HTMLElement {
  connectedCallback() {
    if (this.widgetId === undefined && this.early === undefined) {
      const request = firstRequest(this);
      if (request) {
        this.early = send(request);
        prefetchParts(this);
      }
    }
    ready.then(({ mount }) => {
      // Connected again before the module was ready, or already mounted: nothing to do.
      if (!this.isConnected || this.widgetId !== undefined) return;
      const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
      // Used once, and only if the element still asks the same (its attributes may have
      // changed meanwhile): otherwise asked afresh. The widget always gets the answer from
      // here: the page's purchase is no longer in the address bar for it to read.
      const early = this.early;
      this.early = undefined;
      const request = firstRequest(this);
      const firstAnswer = early?.key === request?.key ? early.answer : request && send(request).answer;
      // 0: no purchase to follow (no payment id); a later connection may try again.
      const id = mount(this, root, stylesheet, firstAnswer);
      if (id !== 0) this.widgetId = id;
    });
  }

  disconnectedCallback() {
    // Removed before it was mounted: its early answer may be stale by the time it returns.
    if (this.widgetId === undefined) this.early = undefined;
    ready.then(({ unmount }) => {
      // Moved within the page rather than removed: keep the widget.
      if (this.isConnected || this.widgetId === undefined) return;
      unmount(this.widgetId);
      this.widgetId = undefined;
    });
  }
}

if (!customElements.get("dodo-upsell")) {
  customElements.define("dodo-upsell", DodoUpsellElement);
}
