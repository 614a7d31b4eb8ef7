// The one script a merchant's page loads. It starts the widget, which mounts itself into
// every <dodo-upsell> element. An external module script, so a strict CSP needs only
// 'self' (or this script's origin) and 'wasm-unsafe-eval'.
import init from "./dodo-upsell.js";

init();
