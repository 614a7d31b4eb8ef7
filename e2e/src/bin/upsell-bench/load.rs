//! A closed-loop load generator: `concurrency` workers, each sending its next request as soon as
//! the last one is answered, for a set time. Throughput and latency percentiles come from every
//! request's own duration.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    /// Sorted request durations.
    latencies: Vec<Duration>,
}

impl LoadResult {
    /// The `p`-th quantile (0 < p ≤ 1) of the request durations, nearest rank.
    pub fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// The `p`-th quantile (0 < p ≤ 1) of sorted `values`, by nearest rank.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `request` from `concurrency` workers for `duration`. `request(i)` is the i-th request
/// overall; an `Err` counts as an error and its time is not a latency.
pub async fn run<F, Fut>(concurrency: usize, duration: Duration, request: F) -> LoadResult
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (request, next, latencies, errors) = (
            request.clone(),
            next.clone(),
            latencies.clone(),
            errors.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut own = Vec::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let sent = Instant::now();
                match request(i).await {
                    Ok(()) => own.push(sent.elapsed()),
                    Err(_) => {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            latencies.lock().await.extend(own);
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = start.elapsed();
    let mut latencies = std::mem::take(&mut *latencies.lock().await);
    latencies.sort();
    LoadResult {
        requests: latencies.len(),
        errors: errors.load(std::sync::atomic::Ordering::Relaxed),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        latencies,
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), 50);
        assert_eq!(percentile(&values, 0.95), 95);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&values, 1.0), 100);
        assert_eq!(percentile(&[7u32], 0.5), 7);
        assert_eq!(percentile::<u32>(&[], 0.5), 0);
    }
}
