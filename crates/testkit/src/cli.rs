//! Command-line pieces the load generators share.

use crate::platform::PlatformApi;

/// Which server to load and with which master token: `--server URL --api-token T`.
#[derive(Clone, Debug, clap::Args)]
pub struct ServerArgs {
    /// The server's HTTP base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The master API token (it may begin with `-`).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub api_token: String,
}

impl ServerArgs {
    /// A Platform API client of that server.
    pub fn api(&self) -> PlatformApi {
        PlatformApi::new(self.server.clone(), self.api_token.clone())
    }
}
