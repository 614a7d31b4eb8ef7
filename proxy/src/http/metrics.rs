//! The proxy's Prometheus metrics, served at `GET /metrics` (`routes::metrics`): requests by
//! route and status with their latency (`middleware::observe`), what became of charges, webhooks
//! received, and errors widgets report.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// `route`, `status`: requests answered.
    pub requests: IntCounterVec,
    /// `route`: time to answer.
    pub latency: HistogramVec,
    /// `result`: `submitted`, `refused` (Dodo said no: nothing charged), `unknown` (answer lost).
    pub charges: IntCounterVec,
    /// `result`: `applied`, `duplicate`, `refused` (bad signature).
    pub webhooks: IntCounterVec,
    /// What went wrong in customers' browsers, as widgets report it: `kind`
    /// (`part_unavailable`), `part` (`plan_change`, `language`).
    pub widget_errors: IntCounterVec,
    /// `outcome`: `applied` (a new offers file is in force), `refused` (invalid or unreadable:
    /// the last good one stays).
    pub offers_reloads: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("upsell".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "Requests answered, by route and status",
            ),
            &["route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer, by route")
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                ]),
            &["route"],
        )?;
        let charges = IntCounterVec::new(
            Opts::new(
                "charges_total",
                "Charge calls to Dodo, by what became of them",
            ),
            &["result"],
        )?;
        let webhooks = IntCounterVec::new(
            Opts::new(
                "webhooks_total",
                "Dodo webhooks received, by what was done with them",
            ),
            &["result"],
        )?;
        let widget_errors = IntCounterVec::new(
            Opts::new(
                "widget_errors_total",
                "Errors widgets reported from customers' browsers, by kind and part",
            ),
            &["kind", "part"],
        )?;
        let offers_reloads = IntCounterVec::new(
            Opts::new(
                "offers_reloads_total",
                "Offers file reloads, by outcome: applied, or refused (the last good file stays)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(offers_reloads.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(widget_errors.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(charges.clone()))?;
        registry.register(Box::new(webhooks.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            charges,
            webhooks,
            widget_errors,
            offers_reloads,
        })
    }

    /// Every series, in Prometheus' text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }
}
