//! The media bridge's error: the local SFU's refusal or failure ([`SfuError`]), or a
//! failure between nodes ([`PlacementError`]: owner unreachable, placement churn, the
//! placement store). The signal layer maps it once into a wire error; a placement error is
//! always an internal error to the client, and its variant is for logs and metrics.

use crate::placement::PlacementError;
use opencalls_sfu::SfuError;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Sfu(#[from] SfuError),
    #[error(transparent)]
    Placement(#[from] PlacementError),
}
