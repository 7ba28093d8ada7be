//! Which CPU each media worker runs on (`SfuConfig::pin_workers`).
//!
//! A worker pinned to a CPU of its own is never queued behind the other worker on one core
//! while the other core idles: the scheduler otherwise often wakes a worker on the core of
//! the thread that woke it (the relay of a spread live group wakes the other worker once
//! per host frame), and a fan-out then waits for the waker's to end.
//!
//! Invariants: workers are pinned only when there are exactly as many of them as CPUs the
//! process may run on (the default of one worker per core, on a machine or in a CPU set
//! of its own), and then each to a different one of those CPUs (worker `i` to the `i`-th
//! allowed CPU), so pinning never takes a CPU away from the process's set (`taskset`,
//! cpusets) and never puts two workers on one core. Fewer workers than allowed CPUs (a
//! container limited by a CPU quota rather than a CPU set, whose `available_parallelism`
//! is the quota) float: which of the machine's cores are free is not this process's to
//! know. Anything the OS refuses leaves the workers floating, as without pinning.

/// The CPU for each worker, by index, or `None` when the workers are to float: a single
/// worker, not exactly one worker per allowed CPU, or the allowed set cannot be read (and
/// on other systems than Linux).
pub(crate) fn plan(workers: usize) -> Option<Vec<usize>> {
    let allowed = allowed_cpus()?;
    (workers > 1 && allowed.len() == workers).then_some(allowed)
}

#[cfg(target_os = "linux")]
fn allowed_cpus() -> Option<Vec<usize>> {
    use nix::sched::{CpuSet, sched_getaffinity};
    use nix::unistd::Pid;
    // Pid 0: the calling thread, whose mask is the process's unless someone narrowed it.
    let set = sched_getaffinity(Pid::from_raw(0)).ok()?;
    let cpus: Vec<usize> = (0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect();
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Option<Vec<usize>> {
    None
}

/// Pins the calling thread to `cpu`.
#[cfg(target_os = "linux")]
pub(crate) fn pin_current_thread(cpu: usize) -> Result<(), String> {
    use nix::sched::{CpuSet, sched_setaffinity};
    use nix::unistd::Pid;
    let mut set = CpuSet::new();
    set.set(cpu).map_err(|e| e.to_string())?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn pin_current_thread(_cpu: usize) -> Result<(), String> {
    Err("pinning threads is only supported on Linux".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_worker_and_any_other_count_than_one_per_cpu_float() {
        assert_eq!(plan(1), None);
        let cpus = allowed_cpus().map_or(0, |c| c.len());
        assert_eq!(plan(cpus + 1), None);
        if cpus > 2 {
            assert_eq!(plan(cpus - 1), None);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn one_worker_per_allowed_cpu_each_gets_its_own_and_is_held_to_it() {
        let allowed = allowed_cpus().expect("the affinity mask of this thread");
        if allowed.len() < 2 {
            // A single-CPU machine pins nothing; the first test covers it.
            assert_eq!(plan(2), None);
            return;
        }
        let plan = plan(allowed.len()).expect("one worker per allowed CPU is pinned");
        assert_eq!(plan, allowed);
        // Pinning a fresh thread narrows its own mask to exactly that CPU.
        let cpu = plan[plan.len() - 1];
        let seen = std::thread::spawn(move || {
            pin_current_thread(cpu).expect("pinning within the allowed set");
            allowed_cpus()
        })
        .join()
        .expect("the pinned thread");
        assert_eq!(seen, Some(vec![cpu]));
        // The caller's own mask is untouched.
        assert_eq!(allowed_cpus(), Some(allowed));
    }
}
