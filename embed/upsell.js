// The one script a merchant's page loads. It defines the <dodo-upsell> element; each element
// gets the widget in its own shadow root (with the widget's stylesheet), so neither the page's
// CSS nor ours leaks across. An external module with no inline code and no eval: a strict
// Content-Security-Policy needs only this script's origin and 'wasm-unsafe-eval'.
import init, { mount, unmount } from "./dodo-upsell.js";

const stylesheet = new URL("./widget.css", import.meta.url).href;
const ready = init();

class DodoUpsellElement extends HTMLElement {
  connectedCallback() {
    ready.then(() => {
      // Connected again before the module was ready, or already mounted: nothing to do.
      if (!this.isConnected || this.widgetId !== undefined) return;
      const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
      // 0: no purchase to follow (no payment id); a later connection may try again.
      const id = mount(this, root, stylesheet);
      if (id !== 0) this.widgetId = id;
    });
  }

  disconnectedCallback() {
    ready.then(() => {
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
