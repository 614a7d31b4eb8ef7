//! The `dodo-upsell:offer-visible` performance mark: the moment the first offer on the page is
//! on screen and can be clicked. `cargo xtask bench` reads it to measure time to offer, and a
//! merchant can read it the same way (`performance.getEntriesByName(…)`) in their own RUM.
//!
//! An offer is visible only when both have happened, in either order: its card is in the DOM,
//! and the widget's stylesheet has loaded (the widget stays hidden until then).

use std::cell::RefCell;

/// The mark's name.
pub const MARK: &str = "dodo-upsell:offer-visible";

#[derive(Default)]
struct Progress {
    /// Widgets whose stylesheet has loaded.
    styled: Vec<u32>,
    /// Widgets with an offer card in the DOM.
    offering: Vec<u32>,
}

thread_local! {
    static PROGRESS: RefCell<Progress> = RefCell::new(Progress::default());
}

/// Widget `widget_id`'s stylesheet has loaded and it is shown.
pub fn stylesheet_loaded(widget_id: u32) {
    update(widget_id, |p| add(&mut p.styled, widget_id));
}

/// Widget `widget_id` has an offer (or a plan change) in the DOM.
pub fn offer_rendered(widget_id: u32) {
    update(widget_id, |p| add(&mut p.offering, widget_id));
}

/// Widget `widget_id` left the page.
pub fn forget(widget_id: u32) {
    PROGRESS.with(|p| {
        let mut p = p.borrow_mut();
        p.styled.retain(|id| *id != widget_id);
        p.offering.retain(|id| *id != widget_id);
    });
}

fn add(widgets: &mut Vec<u32>, widget_id: u32) {
    if !widgets.contains(&widget_id) {
        widgets.push(widget_id);
    }
}

fn update(widget_id: u32, change: impl FnOnce(&mut Progress)) {
    let visible = PROGRESS.with(|p| {
        let mut p = p.borrow_mut();
        change(&mut p);
        p.styled.contains(&widget_id) && p.offering.contains(&widget_id)
    });
    let Some(performance) = web_sys::window().and_then(|w| w.performance()) else {
        return;
    };
    // Once per page: later offers, and other widgets, are not the first. The page's own
    // timeline says whether it is set (and a page may clear it, as the tests do).
    if visible && performance.get_entries_by_name(MARK).length() == 0 {
        let _ = performance.mark(MARK);
    }
}
