//! The backend conformance suite: one set of store tests that every backend must pass.
//!
//! A backend runs it from one integration test file with one line, given an async function
//! that opens a fresh, empty store:
//!
//! ```ignore
//! async fn fresh_store() -> opencalls_store::conformance::TestStore {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = MyStore::open(dir.path()).unwrap();
//!     opencalls_store::conformance::TestStore::new(store, dir)
//! }
//!
//! opencalls_store::conformance_tests!(fresh_store);
//! ```
//!
//! [`conformance_tests!`](crate::conformance_tests) expands into one `#[tokio::test]` per
//! case, grouped in one module per area (`rooms::…`, `webhooks::…`), so a failure names its
//! case. Each case gets its own fresh store. Cases assert only what the storage traits
//! promise (their docs), never how a backend keeps it; backend-specific properties
//! (group commit, durability, migrations, query plans) are tested in the backend's crate.
//!
//! Adding a case: write a `pub async fn case(store: Arc<dyn Store>)` in its area's module
//! and add its name to the area's list in `conformance_tests!`.

pub mod api_tokens;
pub mod cluster;
pub mod custom_items;
pub mod direct_calls;
pub mod listing;
pub mod live_events;
pub mod outbox;
pub mod participants;
pub mod rooms;
pub mod users;
pub mod webhooks;

mod fixtures;

use crate::Store;
use std::any::Any;
use std::sync::Arc;

/// A fresh, empty store for one case, and whatever must outlive it (a temporary directory,
/// a database to drop afterwards).
pub struct TestStore {
    // Declared first so it is dropped before what it lives in.
    store: Arc<dyn Store>,
    _keep: Box<dyn Any + Send>,
}

impl TestStore {
    pub fn new(store: impl Store, keep: impl Any + Send) -> Self {
        Self {
            store: Arc::new(store),
            _keep: Box::new(keep),
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
}

/// Expands into the whole conformance suite for the backend made by `$fresh`, an async
/// function (in scope where the macro is used) returning a [`TestStore`]. The test crate
/// needs `tokio` (with the `macros` and multi-thread runtime features).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:path) => {
        $crate::__conformance_area!($fresh; rooms: [
            created_room_reads_back_identically,
            inserting_an_existing_room_id_conflicts,
            updating_an_unknown_room_is_not_found,
            a_refused_transition_changes_nothing,
            reads_by_id_see_every_acknowledged_write_while_readers_race,
        ]);
        $crate::__conformance_area!($fresh; custom_items: [
            custom_items_given_at_creation_read_back,
            updated_and_deleted_custom_items_are_stored_with_their_time,
        ]);
        $crate::__conformance_area!($fresh; participants: [
            entered_participants_are_current_oldest_first_until_they_exit,
            participants_are_listed_newest_first_with_cursors,
            listing_participants_of_an_unknown_room_is_not_found,
            participant_changes_are_stored,
            rooms_with_active_participants_are_those_with_someone_not_exited,
            a_participant_user_is_stored_on_first_sight_and_kept,
        ]);
        $crate::__conformance_area!($fresh; listing: [
            every_room_filter_returns_exactly_the_matching_rooms_newest_first,
            cursors_page_both_ways_and_stay_valid_while_rooms_are_added,
            live_event_filters_return_exactly_the_matching_events_newest_first,
        ]);
        $crate::__conformance_area!($fresh; live_events: [
            changes_and_their_events_commit_together_and_refusals_write_nothing,
            inserting_an_existing_live_event_id_conflicts,
            the_host_is_the_present_one_else_the_last_one,
            a_transition_sees_exactly_the_participants_of_its_scope,
            live_event_participants_are_listed_newest_first_with_cursors,
            live_events_with_presence_are_those_not_ended_with_someone_in,
        ]);
        $crate::__conformance_area!($fresh; direct_calls: [
            changes_and_their_events_commit_together_and_refusals_write_nothing,
            listing_filters_return_exactly_the_matching_calls_newest_first,
            open_calls_are_those_not_ended,
            push_tokens_are_bounded_unique_on_request_and_removable,
        ]);
        $crate::__conformance_area!($fresh; users: [
            users_are_stored_read_and_updated,
            users_are_listed_newest_first_with_cursors,
            tokens_are_found_by_hash_and_deleted_by_kind,
            expired_tokens_are_deleted_and_others_kept,
            deactivating_a_user_deletes_every_token_of_the_user,
        ]);
        $crate::__conformance_area!($fresh; api_tokens: [
            api_tokens_are_stored_up_to_the_limit_listed_and_revoked,
        ]);
        $crate::__conformance_area!($fresh; outbox: [
            events_committed_before_webhooks_were_configured_are_never_queued,
            every_change_appends_its_events_in_commit_order_with_their_payload,
            refused_changes_append_no_events,
        ]);
        $crate::__conformance_area!($fresh; webhooks: [
            settings_start_disabled_and_update_partially,
            events_are_judged_by_the_settings_at_commit_and_streams_stay_ordered,
            streams_are_delivered_independently,
            delivery_ids_are_unique_and_stable_across_retries,
            deliveries_are_listed_newest_first_with_cursors_and_by_status,
        ]);
    };
}

/// One area of [`conformance_tests!`]: a module of `#[tokio::test]`s, one per case.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_area {
    ($fresh:path; $area:ident: [$($case:ident),* $(,)?]) => {
        mod $area {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let fresh: $crate::conformance::TestStore = $fresh().await;
                    $crate::conformance::$area::$case(fresh.store()).await;
                }
            )*
        }
    };
}

/// Expands into the [`crate::ClusterStore`] conformance cases for the backend made by
/// `$fresh`, an async function returning a [`cluster::TestCluster`].
#[macro_export]
macro_rules! cluster_conformance_tests {
    ($fresh:path) => {
        mod cluster {
            #[allow(unused_imports)]
            use super::*;
            $crate::__cluster_case!($fresh: [
                nodes_are_alive_until_their_lease_runs_out,
                each_dead_node_is_claimed_by_exactly_one_caller,
                a_dead_node_stays_claimed_until_forgotten_and_outlives_a_dead_claimer,
                a_duty_has_one_holder_until_its_lease_runs_out,
                a_node_does_not_hear_its_own_events_and_the_tail_reaches_the_head,
                a_device_seats_are_its_rooms_and_live_seats_not_exited,
                a_device_holder_moves_and_is_released_by_its_holder_only,
                a_move_racing_a_release_has_one_winner,
            ]);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __cluster_case {
    ($fresh:path: [$($case:ident),* $(,)?]) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let fresh: $crate::conformance::cluster::TestCluster = $fresh().await;
                $crate::conformance::cluster::$case(fresh).await;
            }
        )*
    };
}
