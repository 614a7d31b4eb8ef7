// The one script a merchant's page loads. It defines the <dodo-upsell> element; each element
// gets the widget in its own shadow root (with the widget's stylesheet), so neither the page's
// CSS nor ours leaks across. An external module with no inline code and no eval: a strict
// Content-Security-Policy needs only this script's origin and 'wasm-unsafe-eval'.
//
// Speed: everything the widget waits for starts as soon as this script runs, in parallel: the
// wasm, its stylesheet and each element's first request to the proxy. The wasm then finds the
// offers already on their way (or arrived) instead of asking only once it is ready.

const here = (file) => new URL(file, import.meta.url).href;
const stylesheet = here("./widget.css");

const preload = document.createElement("link");
preload.rel = "preload";
preload.as = "style";
preload.href = stylesheet;
document.head.append(preload);

const wasm = fetch(here("./dodo-upsell_bg.wasm"));
const ready = import("./dodo-upsell.js").then(async (glue) => {
  await glue.default({ module_or_path: wasm });
  return glue;
});

// The widget's first request, as `src/api.rs` sends it: an account page's plan changes, or the
// offers of the purchase in the element's `payment-id` (default: the page URL's `payment_id`).
function firstRequest(element) {
  const attribute = (name) => element.getAttribute(name)?.trim() || undefined;
  const endpoint = (attribute("endpoint") ?? "").replace(/\/+$/, "");
  const token = attribute("account-token");
  if (token) {
    return fetch(`${endpoint}/v1/plan-changes`, { headers: { authorization: `Bearer ${token}` } });
  }
  const payment = attribute("payment-id") ?? new URLSearchParams(location.search).get("payment_id");
  if (!payment) return undefined;
  return fetch(`${endpoint}/v1/offers?payment_id=${encodeURIComponent(payment)}`);
}

class DodoUpsellElement extends HTMLElement {
  connectedCallback() {
    if (this.widgetId === undefined) this.firstAnswer ??= firstRequest(this);
    ready.then(({ mount }) => {
      // Connected again before the module was ready, or already mounted: nothing to do.
      if (!this.isConnected || this.widgetId !== undefined) return;
      const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
      // Used once: a widget mounted again later asks afresh.
      const firstAnswer = this.firstAnswer;
      this.firstAnswer = undefined;
      // 0: no purchase to follow (no payment id); a later connection may try again.
      const id = mount(this, root, stylesheet, firstAnswer);
      if (id !== 0) this.widgetId = id;
    });
  }

  disconnectedCallback() {
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
