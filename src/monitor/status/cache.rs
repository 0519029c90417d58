//! The status page, badges and feed made at most once a second per variant, and served from that
//! copy to every reader in between.
//!
//! A status page is read most when something is down, by everyone at once. Rendering the page
//! of 200 targets takes milliseconds; serving a kept copy takes microseconds. A copy is
//! current for [`MAX_AGE`] from the moment its data was read, so a result committed to the
//! store reaches the page within a second (and the time one rendering takes). The first reader
//! to find the copy out of date makes the next one, compressed in the coding it asked for,
//! before it is published; readers that come meanwhile get the previous copy rather than wait.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use poem::http::HeaderMap;

use super::Window;
use crate::api::cached::Representation;
use crate::compression::{Coding, DYNAMIC};

/// How long a copy is served after its data was read.
pub const MAX_AGE: Duration = Duration::from_secs(1);
/// Past this many variants kept, the out-of-date ones are dropped: variants named by clients
/// (the feed's host) cannot grow the map without bound.
const PRUNE_AT: usize = 256;

/// One way the pages can be asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Variant {
    /// `/status`.
    Page,
    /// `/badges/{name}/status.svg`.
    StatusBadge(String),
    /// `/badges/{name}/uptime.svg?window=`.
    UptimeBadge(String, Window),
    /// `/badges/{name}/response-time.svg`.
    ResponseTimeBadge(String),
    /// `/incidents.atom` as read at this base URL.
    Feed(String),
    /// `/status/{name}` as read at this base URL (its badges' Markdown names it).
    Target(String, String),
}

/// The kept copies, by variant.
#[derive(Default)]
pub struct Cache {
    slots: Mutex<HashMap<Variant, Arc<Slot>>>,
}

/// One variant's copy.
#[derive(Default)]
struct Slot {
    /// The latest copy and when its data was read.
    current: Mutex<Option<(Instant, Arc<Representation>)>>,
    /// Held while a new copy is made, so that only one reader makes it.
    making: tokio::sync::Mutex<()>,
}

impl Slot {
    /// The latest copy, if any, and whether it is still current at `now`.
    fn latest(&self, now: Instant) -> Option<(Arc<Representation>, bool)> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().map(|(read, copy)| {
            let fresh = now.saturating_duration_since(*read) < MAX_AGE;
            (copy.clone(), fresh)
        })
    }

    fn fresh(&self, now: Instant) -> Option<Arc<Representation>> {
        self.latest(now)
            .filter(|(_, fresh)| *fresh)
            .map(|(copy, _)| copy)
    }
}

impl Cache {
    /// The copy of `variant` for a request with `request` headers: the kept one while current,
    /// else a new one that `make` reads and renders, compressed for this request before it is
    /// published. While another reader makes it, the previous copy. Errors are not kept: the
    /// next reader tries again.
    ///
    /// # Errors
    /// `make`'s.
    pub async fn get<E>(
        &self,
        variant: Variant,
        request: &HeaderMap,
        make: impl AsyncFnOnce() -> Result<Representation, E>,
    ) -> Result<Arc<Representation>, E> {
        let slot = self.slot(variant);
        let previous = match slot.latest(Instant::now()) {
            Some((copy, true)) => return Ok(copy),
            Some((copy, false)) => Some(copy),
            None => None,
        };
        let _making = match (slot.making.try_lock(), previous) {
            (Ok(making), _) => making,
            (Err(_), Some(previous)) => return Ok(previous),
            // The first copy: nothing to serve meanwhile, so wait for it.
            (Err(_), None) => slot.making.lock().await,
        };
        // Someone may have made it while this reader waited.
        if let Some(copy) = slot.fresh(Instant::now()) {
            return Ok(copy);
        }
        let read = Instant::now();
        let copy = Arc::new(make().await?);
        copy.prepare(Coding::negotiate(request, DYNAMIC)).await;
        *slot.current.lock().unwrap_or_else(PoisonError::into_inner) = Some((read, copy.clone()));
        Ok(copy)
    }

    fn slot(&self, variant: Variant) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(&variant) {
            return slot.clone();
        }
        if slots.len() >= PRUNE_AT {
            let now = Instant::now();
            slots.retain(|_, slot| slot.fresh(now).is_some());
        }
        slots.entry(variant).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_copy_is_made_once_for_readers_within_a_second() {
        let cache = Cache::default();
        let made = AtomicUsize::new(0);
        let make = async || {
            made.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Representation::new("page", "text/html"))
        };
        let none = HeaderMap::new();
        let (a, b) = tokio::join!(
            cache.get(Variant::Page, &none, make),
            cache.get(Variant::Page, &none, make)
        );
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        assert_eq!(made.load(Ordering::SeqCst), 1);
        // Another variant is another copy.
        cache
            .get(Variant::Feed("x".into()), &none, make)
            .await
            .unwrap();
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_copy_older_than_a_second_is_made_again() {
        let cache = Cache::default();
        let made = AtomicUsize::new(0);
        let make = async || {
            made.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Representation::new("page", "text/html"))
        };
        let none = HeaderMap::new();
        let first = cache.get(Variant::Page, &none, make).await.unwrap();
        let slot = cache.slot(Variant::Page);
        // Age the copy instead of sleeping a second.
        if let Some((read, _)) = slot.current.lock().unwrap().as_mut() {
            *read -= MAX_AGE;
        }
        // While a new copy is being made, the previous one is served.
        let making = slot.making.try_lock().unwrap();
        // Bounded: a reader that waited for the copy being made would wait here forever.
        let meanwhile = tokio::time::timeout(
            Duration::from_secs(5),
            cache.get(Variant::Page, &none, make),
        )
        .await
        .expect("the previous copy is served without waiting for the next")
        .unwrap();
        assert!(Arc::ptr_eq(&first, &meanwhile));
        assert_eq!(made.load(Ordering::SeqCst), 1);
        drop(making);
        let second = cache.get(Variant::Page, &none, make).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn errors_are_not_kept() {
        let cache = Cache::default();
        let none = HeaderMap::new();
        let failed = cache
            .get(Variant::Page, &none, async || {
                Err::<Representation, _>("store")
            })
            .await;
        assert!(failed.is_err());
        let copy = cache
            .get(Variant::Page, &none, async || {
                Ok::<_, &str>(Representation::new("ok", "text/html"))
            })
            .await;
        assert!(copy.is_ok());
    }

    #[test]
    fn a_copy_is_current_for_less_than_max_age_from_when_its_data_was_read() {
        let slot = Slot::default();
        let read = Instant::now();
        *slot.current.lock().unwrap() =
            Some((read, Arc::new(Representation::new("page", "text/html"))));
        let fresh = |at: Instant| slot.latest(at).map(|(_, fresh)| fresh);
        assert_eq!(fresh(read + MAX_AGE - Duration::from_nanos(1)), Some(true));
        assert_eq!(fresh(read + MAX_AGE), Some(false));
        assert!(slot.fresh(read).is_some());
        assert!(slot.fresh(read + MAX_AGE).is_none());
    }

    #[tokio::test]
    async fn a_reader_that_waited_for_the_first_copy_takes_it_rather_than_make_another() {
        let cache = Cache::default();
        let made = AtomicUsize::new(0);
        let make = async || {
            made.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Representation::new("second", "text/html"))
        };
        let none = HeaderMap::new();
        let slot = cache.slot(Variant::Page);
        // Another reader is making the first copy.
        let making = slot.making.try_lock().unwrap();
        let mut reader = std::pin::pin!(cache.get(Variant::Page, &none, make));
        let waiting = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(reader.as_mut().poll(cx).is_pending())
        })
        .await;
        assert!(waiting, "nothing to serve yet: the reader waits");
        let first = Arc::new(Representation::new("first", "text/html"));
        *slot.current.lock().unwrap() = Some((Instant::now(), first.clone()));
        drop(making);
        let copy = reader.await.unwrap();
        assert!(Arc::ptr_eq(&copy, &first));
        assert_eq!(made.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn out_of_date_copies_are_dropped_once_256_variants_are_kept() {
        let cache = Cache::default();
        let copy = Arc::new(Representation::new("page", "text/html"));
        let keep = |variant: Variant, read: Instant| {
            *cache.slot(variant).current.lock().unwrap() = Some((read, copy.clone()));
        };
        let now = Instant::now();
        keep(Variant::Page, now);
        for i in 0..PRUNE_AT - 1 {
            keep(Variant::Feed(i.to_string()), now - MAX_AGE);
        }
        let kept = || cache.slots.lock().unwrap().len();
        assert_eq!(kept(), PRUNE_AT);
        // The 257th: only the current copy stays, beside the new variant.
        cache.slot(Variant::Feed("new".to_owned()));
        assert_eq!(kept(), 2);
        assert!(cache.slots.lock().unwrap().contains_key(&Variant::Page));
    }
}
