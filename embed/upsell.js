// The one script a merchant's page loads. It attaches the widget's stylesheet and starts the
// widget, which mounts itself into every <dodo-upsell> element. An external module script with
// no inline code, so a strict Content-Security-Policy needs only this script's origin and
// 'wasm-unsafe-eval'.
import init from "./dodo-upsell.js";

const stylesheet = new URL("./widget.css", import.meta.url).href;
if (!document.querySelector(`link[href="${stylesheet}"]`)) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = stylesheet;
  document.head.append(link);
}

init();
