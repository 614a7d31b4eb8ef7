//! The `<dodo-upsell>` element each widget lives in, by the widget's id: registered by `embed`
//! when it mounts the widget, forgotten when it unmounts it, and used by the views and events
//! (the page's DOM events are dispatched on it; it gives back the room the page reserved).

use std::cell::RefCell;
use std::collections::HashMap;
use web_sys::HtmlElement;

thread_local! {
    static HOSTS: RefCell<HashMap<u32, HtmlElement>> = RefCell::new(HashMap::new());
}

/// Widget `id` lives in `host`.
pub fn register(id: u32, host: HtmlElement) {
    HOSTS.with(|h| h.borrow_mut().insert(id, host));
}

/// Widget `id` has left the page.
pub fn forget(id: u32) {
    HOSTS.with(|h| h.borrow_mut().remove(&id));
}

/// The element widget `id` is mounted in; none for a widget mounted without one (tests of
/// single views).
pub fn host(id: u32) -> Option<HtmlElement> {
    HOSTS.with(|h| h.borrow().get(&id).cloned())
}

/// Widget `id` has nothing (more) to show: its element leaves the layout, giving back the
/// room the page reserved for it (`min-height` in the page's CSS, see the README's
/// "Embedding") and its own spacing. Set through the CSSOM, which a strict
/// Content-Security-Policy allows.
pub fn release_reserved_room(id: u32) {
    if let Some(host) = host(id) {
        let _ = host.style().set_property("display", "none");
    }
}
