//! The rotating file sink's housekeeper: a small background thread that
//! compresses rotated files and applies retention, so the thread writing
//! the log never waits for gzip or for a directory scan.
//!
//! Its one job, a *sweep*, is idempotent: list the sink's files, finish
//! what a crash left half done (a stale `.gz.tmp`, an original beside its
//! finished `.gz`), compress every rotated file not yet compressed, then
//! delete the oldest rotated files beyond the limits. The writer asks for
//! a sweep at start-up and after each rotation; requests made while one
//! runs coalesce into one more sweep.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::naming::{self, Named};
use super::Clock;

/// What the housekeeper keeps: limits on the *rotated* files (the active
/// file is never counted nor deleted).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Retention {
    pub(super) max_files: Option<usize>,
    pub(super) max_total_bytes: Option<u64>,
    pub(super) max_age: Option<Duration>,
}

impl Retention {
    fn any(&self) -> bool {
        self.max_files.is_some() || self.max_total_bytes.is_some() || self.max_age.is_some()
    }
}

/// Where the sink's files are and what to do with them.
pub(super) struct Plan {
    pub(super) dir: PathBuf,
    pub(super) prefix: String,
    pub(super) ext: &'static str,
    pub(super) retention: Retention,
    pub(super) compress: bool,
    pub(super) clock: Clock,
}

#[derive(Default)]
struct State {
    requested: bool,
    running: bool,
    closed: bool,
    /// The active file's name: never touched.
    active: Option<String>,
    /// The writer is creating its next file, whose name is not known yet:
    /// no file is touched until it is.
    opening: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    compressed: AtomicU64,
    deleted: AtomicU64,
    errors: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// A handle on a [`RotatingFileSink`](super::RotatingFileSink)'s
/// housekeeping (compression and retention), usable after the sink has
/// been moved into a pipeline.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let sink = fapilog::sinks::RotatingFileSink::builder(dir.path()).max_files(3).build()?;
/// let housekeeping = sink.housekeeping();
/// assert!(housekeeping.wait_idle(std::time::Duration::from_secs(10)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Housekeeping {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Housekeeping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Housekeeping")
            .field("compressed", &self.compressed())
            .field("deleted", &self.deleted())
            .field("errors", &self.errors())
            .finish()
    }
}

impl Housekeeping {
    /// Starts the housekeeper for `plan`; with nothing to do (no
    /// compression, no retention limit) no thread is started.
    pub(super) fn start(plan: Plan) -> std::io::Result<Housekeeping> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            compressed: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        if plan.compress || plan.retention.any() {
            let s = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("fapilog-file-housekeeping".to_owned())
                .spawn(move || run(&s, &plan))?;
        } else {
            shared.lock().closed = true;
        }
        Ok(Housekeeping { shared })
    }

    /// The writer starts creating its next file.
    pub(super) fn opening(&self) {
        self.shared.lock().opening = true;
    }

    /// The writer failed to create its next file: the active one stays.
    pub(super) fn open_failed(&self) {
        self.shared.lock().opening = false;
    }

    /// Sets the active file's name and asks for a sweep.
    pub(super) fn request(&self, active: &str) {
        let mut st = self.shared.lock();
        st.active = Some(active.to_owned());
        st.opening = false;
        if !st.closed {
            st.requested = true;
            self.shared.changed.notify_all();
        }
    }

    /// Lets the thread end once it has nothing left to do.
    pub(super) fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
    }

    /// Waits until every requested sweep is done (or the thread has
    /// ended); `false` when `timeout` passed first.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut st = self.shared.lock();
        while st.requested || st.running {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            st = match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// Rotated files compressed so far.
    pub fn compressed(&self) -> u64 {
        self.shared.compressed.load(Ordering::Relaxed)
    }

    /// Rotated files deleted by retention so far.
    pub fn deleted(&self) -> u64 {
        self.shared.deleted.load(Ordering::Relaxed)
    }

    /// Failures (a file that could not be read, compressed or deleted);
    /// each is also reported on stderr.
    pub fn errors(&self) -> u64 {
        self.shared.errors.load(Ordering::Relaxed)
    }
}

fn run(shared: &Shared, plan: &Plan) {
    loop {
        let active = {
            let mut st = shared.lock();
            while !st.requested && !st.closed {
                st = match shared.changed.wait(st) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
            }
            if !st.requested {
                return;
            }
            st.requested = false;
            st.running = true;
            st.active.clone()
        };
        sweep(shared, plan, active.as_deref());
        shared.lock().running = false;
        shared.changed.notify_all();
    }
}

fn fail(shared: &Shared, what: &str, path: &Path, e: &std::io::Error) {
    shared.errors.fetch_add(1, Ordering::Relaxed);
    let p = path.display().to_string();
    let e = e.to_string();
    crate::diagnostics::warn(
        "rotating_file",
        what,
        &[("path", p.as_str()), ("error", e.as_str())],
    );
}

struct Found {
    named: Named,
    path: PathBuf,
    len: u64,
}

/// `true` when the housekeeper may compress or delete `path` now: it is not
/// the active file, and the writer is not creating a new one (which the
/// listing may already hold, under a name not yet known as active). Asked
/// again before each file, as the writer rotates while a sweep runs.
fn may_touch(shared: &Shared, path: &Path) -> bool {
    let st = shared.lock();
    let name = path.file_name().and_then(|n| n.to_str());
    !st.opening && name.is_some() && st.active.as_deref() != name
}

/// One pass over the directory: repair, compress, retain.
fn sweep(shared: &Shared, plan: &Plan, active: Option<&str>) {
    let entries = match fs::read_dir(&plan.dir) {
        Ok(e) => e,
        // The directory is gone: the writer recreates it; nothing to keep.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return fail(shared, "cannot list the log directory", &plan.dir, &e),
    };
    let mut found: Vec<Found> = Vec::new();
    let mut active_named = None;
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        if let Some(base) = name.strip_suffix(".tmp") {
            // A compression that a crash interrupted: the original is still there.
            if base.ends_with(".gz") && naming::parse(base, &plan.prefix, plan.ext).is_some() {
                if let Err(e) = fs::remove_file(&path) {
                    fail(shared, "cannot remove a stale temporary file", &path, &e);
                }
            }
            continue;
        }
        let Some(named) = naming::parse(&name, &plan.prefix, plan.ext) else {
            continue;
        };
        if Some(name.as_str()) == active {
            active_named = Some(named);
            continue;
        }
        let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
        found.push(Found { named, path, len });
    }
    // The writer may have rotated while the directory was listed: the file
    // it writes now is not a rotated one either. While it is creating one,
    // stop (its request for a sweep follows).
    {
        let st = shared.lock();
        if st.opening {
            return;
        }
        if let Some(now_active) = st.active.as_deref() {
            if Some(now_active) != active {
                if let Some(i) = found
                    .iter()
                    .position(|f| f.path.file_name().and_then(|n| n.to_str()) == Some(now_active))
                {
                    active_named = Some(found.swap_remove(i).named);
                }
            }
        }
    }
    found.sort_by(|a, b| a.named.cmp(&b.named));

    // An original beside its finished `.gz` (a crash between rename and
    // unlink): the `.gz` is whole, the original goes.
    let mut i = 0;
    while i + 1 < found.len() {
        let (a, b) = (&found[i], &found[i + 1]);
        if !a.named.gz
            && b.named.gz
            && (a.named.secs, a.named.index) == (b.named.secs, b.named.index)
        {
            if !may_touch(shared, &a.path) {
                i += 1;
                continue;
            }
            if let Err(e) = fs::remove_file(&a.path) {
                fail(
                    shared,
                    "cannot remove a compressed file's original",
                    &a.path,
                    &e,
                );
            }
            found.remove(i);
        } else {
            i += 1;
        }
    }

    if plan.compress {
        for f in found.iter_mut().filter(|f| !f.named.gz) {
            if !may_touch(shared, &f.path) {
                continue;
            }
            match compress(&f.path) {
                Ok((gz, len)) => {
                    shared.compressed.fetch_add(1, Ordering::Relaxed);
                    f.path = gz;
                    f.len = len;
                    f.named.gz = true;
                }
                Err(e) => fail(shared, "cannot compress a rotated file", &f.path, &e),
            }
        }
    }

    retain(shared, plan, found, active_named);
}

/// Deletes the oldest rotated files beyond the limits. A rotated file's
/// age counts from when it was closed: the time in the name of the file
/// that followed it (the active file for the newest).
fn retain(shared: &Shared, plan: &Plan, found: Vec<Found>, active: Option<Named>) {
    let r = plan.retention;
    if !r.any() {
        return;
    }
    let n = found.len();
    let mut keep = vec![true; n];
    if let Some(max_age) = r.max_age {
        let now = (plan.clock)();
        for (i, k) in keep.iter_mut().enumerate() {
            let closed = found
                .get(i + 1)
                .map(|f| &f.named)
                .or(active.as_ref())
                .map(naming::time_of);
            if let Some(closed) = closed {
                if now.duration_since(closed).unwrap_or_default() > max_age {
                    *k = false;
                }
            }
        }
    }
    if let Some(max_files) = r.max_files {
        let mut kept = 0;
        for i in (0..n).rev() {
            if keep[i] {
                kept += 1;
                if kept > max_files {
                    keep[i] = false;
                }
            }
        }
    }
    if let Some(max_total) = r.max_total_bytes {
        let mut total = 0u64;
        for i in (0..n).rev() {
            if keep[i] {
                total = total.saturating_add(found[i].len);
                if total > max_total {
                    keep[i] = false;
                }
            }
        }
    }
    for (f, k) in found.iter().zip(keep) {
        if !k && may_touch(shared, &f.path) {
            match fs::remove_file(&f.path) {
                Ok(()) => {
                    shared.deleted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => fail(shared, "cannot delete a rotated file", &f.path, &e),
            }
        }
    }
}

/// Compresses `path` to `path.gz` (gzip level 5, as fapilog): written to
/// `path.gz.tmp`, synced, renamed, then the original removed. Returns the
/// new path and its size.
#[cfg(feature = "gzip")]
fn compress(path: &Path) -> std::io::Result<(PathBuf, u64)> {
    use std::io::Write;
    let mut gz = path.as_os_str().to_owned();
    gz.push(".gz");
    let gz = PathBuf::from(gz);
    let mut tmp = gz.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut src = fs::File::open(path)?;
        let out = fs::File::create(&tmp)?;
        let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::new(5));
        std::io::copy(&mut src, &mut enc)?;
        let mut out = enc.finish()?;
        out.flush()?;
        out.sync_all()?;
        let len = out.metadata()?.len();
        fs::rename(&tmp, &gz)?;
        Ok(len)
    })();
    match result {
        Ok(len) => {
            fs::remove_file(path)?;
            Ok((gz, len))
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(not(feature = "gzip"))]
fn compress(_: &Path) -> std::io::Result<(PathBuf, u64)> {
    // The builder refuses `compress` without the feature; kept for completeness.
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "gzip needs the `gzip` cargo feature of fapilog",
    ))
}

#[cfg(all(test, feature = "gzip"))]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            compressed: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    fn plan(dir: &Path) -> Plan {
        Plan {
            dir: dir.to_owned(),
            prefix: "app".to_owned(),
            ext: ".jsonl",
            retention: Retention {
                max_files: Some(1),
                ..Retention::default()
            },
            compress: true,
            clock: Arc::new(std::time::SystemTime::now),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    const OLD: &str = "app-20300101-000000-1.jsonl";
    const WAS_ACTIVE: &str = "app-20300101-000000-2.jsonl";
    const NEW_ACTIVE: &str = "app-20300101-000000-3.jsonl";

    fn dir_with_three_files() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for n in [OLD, WAS_ACTIVE, NEW_ACTIVE] {
            fs::write(dir.path().join(n), b"{}\n").unwrap();
        }
        dir
    }

    #[test]
    fn a_file_opened_after_the_sweep_read_the_active_name_is_left_alone() {
        // The sweep took `WAS_ACTIVE` as the active file; the writer then
        // rotated to `NEW_ACTIVE` before the directory was listed.
        let dir = dir_with_three_files();
        let s = shared();
        s.lock().active = Some(NEW_ACTIVE.to_owned());
        sweep(&s, &plan(dir.path()), Some(WAS_ACTIVE));
        let left = names(dir.path());
        assert!(left.contains(&NEW_ACTIVE.to_owned()), "{left:?}");
        assert!(
            !left
                .iter()
                .any(|n| n.starts_with(NEW_ACTIVE) && n != NEW_ACTIVE),
            "{left:?}"
        );
        // `OLD` is a rotated file: compressed, and kept (one rotated file
        // allowed; `WAS_ACTIVE` waits for the next sweep).
        assert!(left.contains(&format!("{OLD}.gz")), "{left:?}");
        assert_eq!(s.compressed.load(Ordering::Relaxed), 1);
        assert_eq!(s.deleted.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn nothing_is_touched_while_the_writer_creates_its_next_file() {
        let dir = dir_with_three_files();
        let s = shared();
        {
            let mut st = s.lock();
            st.active = Some(WAS_ACTIVE.to_owned());
            st.opening = true;
        }
        sweep(&s, &plan(dir.path()), Some(WAS_ACTIVE));
        assert_eq!(names(dir.path()), [OLD, WAS_ACTIVE, NEW_ACTIVE]);
        assert_eq!(s.compressed.load(Ordering::Relaxed), 0);
    }
}
