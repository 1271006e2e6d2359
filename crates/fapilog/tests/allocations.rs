//! Zero heap allocations per log call in steady state, counted by a global
//! allocator (a count is deterministic; a timing is not).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fapilog::{context, Backpressure, Batch, FieldValue, Pipeline, Sink, SinkError};

struct Counting;

thread_local! {
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}
static ALL_THREADS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
        ALL_THREADS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarding to the system allocator with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
        ALL_THREADS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`/`dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn this_thread() -> u64 {
    THIS_THREAD.with(Cell::get)
}

struct Discard;
impl Sink for Discard {
    fn name(&self) -> &str {
        "discard"
    }
    fn write_batch(&mut self, _: &Batch) -> Result<(), SinkError> {
        Ok(())
    }
}

const CALLS: u64 = 10_000;

fn workload(log: &fapilog::Logger, i: u64) {
    fapilog::info!(
        log,
        "request handled",
        request_id = "req-7f3a9c",
        user_id = i as i64,
        path = "/api/v1/orders/42",
        status = 200,
        latency = 12.5
    );
}

#[test]
fn caller_thread_allocates_nothing_per_call() {
    let p = Pipeline::builder()
        .queue_capacity(1 << 16)
        .backpressure(Backpressure::Wait {
            timeout: Duration::from_secs(30),
        })
        .sink(Discard)
        .build()
        .unwrap();
    let log = p.logger("alloc");
    let bound = log.bind(&[("tenant", FieldValue::Str("acme"))]);
    let _ctx = context::bind(&[
        ("request_id", FieldValue::Str("req-1")),
        (
            "trace_id",
            FieldValue::Str("0af7651916cd43dd8448eb211c80319c"),
        ),
    ]);
    // Warm up: clock calibration, thread-locals, the queue's first laps.
    for i in 0..CALLS {
        workload(&log, i);
        workload(&bound, i);
    }
    p.flush(Duration::from_secs(30)).unwrap();

    let before = this_thread();
    for i in 0..CALLS {
        workload(&log, i);
        workload(&bound, i);
    }
    let per_call = this_thread() - before;
    eprintln!("caller allocations for {} calls: {per_call}", 2 * CALLS);
    assert_eq!(per_call, 0, "the log call allocated on the caller's thread");

    // The worker side: amortised, allocation per event stays far below one.
    p.flush(Duration::from_secs(30)).unwrap();
    let all_before = ALL_THREADS.load(Ordering::Relaxed);
    let mine_before = this_thread();
    for i in 0..CALLS {
        workload(&log, i);
    }
    p.flush(Duration::from_secs(30)).unwrap();
    let worker = (ALL_THREADS.load(Ordering::Relaxed) - all_before) - (this_thread() - mine_before);
    eprintln!("worker allocations for {CALLS} events: {worker}");
    assert!(
        worker * 100 < CALLS,
        "worker allocated {worker} times for {CALLS} events"
    );
    let r = p.shutdown(Duration::from_secs(30));
    assert!(r.is_complete());
}
